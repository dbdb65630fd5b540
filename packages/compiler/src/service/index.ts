// `@knp/compiler/service`: the shell around the pure core (NATS, snapshots, the rules stream).
export { runCompiler, FOLD_CHUNK, type CompilerHandle, type CompilerOptions, type Evaluation } from './compiler-service.js';
export { loadCompilerSettings, DEFAULT_COMPILER_SETTINGS, type CompilerSettings } from './settings.js';
export { encodeSnapshot, decodeSnapshot, SnapshotError, SNAPSHOT_SCHEMA, type Snapshot } from './snapshot-codec.js';
export { SnapshotStore } from './snapshots.js';
export { decidePublish, ruleSetMessageId, type PublishDecision } from './publish-decision.js';
export { RulesStore } from './rules-store.js';
export { openEventSource, type Consumed, type EventSource } from './event-source.js';
export { compilerService } from './main.js';
export { replayNode, type Replayed } from './replay.js';
export { foldStream, seqAtTime, ReplayError, type Folded, type FoldOptions, type StreamEvent } from './stream-fold.js';
