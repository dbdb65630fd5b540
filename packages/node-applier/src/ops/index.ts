// `@knp/node-applier/ops`: the operator commands `knp wait` and `knp status` (pure judging + a NATS reader).
export { judgeSync, judgeNodes, isFresh, rvAtLeast, newestResourceVersion, type SyncCriteria, type SyncVerdict, type NodeJudgement } from './judge.js';
export { statusReport, renderStatus, type StatusReport } from './status-report.js';
export { FactsReader } from './facts.js';
export type { ClusterFacts, CompilerRecord, DesiredRuleSet, RejectionsRecord, WatcherRecord } from './records.js';
export { waitCommand, WAIT_USAGE, processOpsIo, type OpsIo } from './wait-command.js';
export { statusCommand, STATUS_USAGE } from './status-command.js';
