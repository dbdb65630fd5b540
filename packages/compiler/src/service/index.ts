// `@knp/compiler/service`: the shell around the pure core (NATS, snapshots, the rules stream).
export { runCompiler, type CompilerHandle, type CompilerOptions, type Evaluation } from './compiler-service.js';
export { loadCompilerSettings, DEFAULT_COMPILER_SETTINGS, type CompilerSettings } from './settings.js';
export { encodeSnapshot, decodeSnapshot, SnapshotError, SNAPSHOT_SCHEMA, type Snapshot } from './snapshot-codec.js';
export { SnapshotStore } from './snapshots.js';
export { decidePublish, ruleSetMessageId, type PublishDecision } from './publish-decision.js';
export { RulesStore, type LastPublished } from './rules-store.js';
export { openEventSource, type Consumed, type EventSource } from './event-source.js';
export { compilerStatusKey, REJECTIONS_KEY, type CompilerStatus, type RejectionsRecord } from './status.js';
export { replayCommand, replayNode, REPLAY_USAGE, type ApplyRuleSet, type ReplayDeps, type Replayed } from './replay-command.js';
export { main } from './main.js';
