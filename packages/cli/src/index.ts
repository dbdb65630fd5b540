// `@knp/cli`: every `knp` command; bin/knp runs `main`.
export { main, usage, COMMANDS } from './main.js';
export { runCommand, type Command } from './command.js';
export { UsageError, processIo, type CommandIo, type Env } from './io.js';
export { ManifestError, loadManifests } from './load-manifests.js';
export { clusterFromManifests } from './cluster-from-manifests.js';
export { compileCommand } from './commands/compile.js';
export { explainCommand, parsePortFlag, formatExplanation } from './commands/explain.js';
export { replayCommand } from './commands/replay.js';
export { waitCommand } from './commands/wait.js';
export { statusCommand } from './commands/status.js';
export { keygenCommand } from './commands/keygen.js';
export { judgeSync, judgeNodes, isFresh, rvAtLeast, newestResourceVersion, oldestResourceVersion, type SyncCriteria, type SyncVerdict, type NodeJudgement } from './ops/judge.js';
export { statusReport, renderStatus, type StatusReport } from './ops/status-report.js';
export { FactsReader } from './ops/facts.js';
export type { ClusterFacts, DesiredRuleSet } from './ops/records.js';
