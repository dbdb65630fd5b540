import { ConfigError, MANIFEST_MIN_NODES, intVariables, readSigningSettings, type SigningSettings } from '@knp/shared';

/** The compiler's own settings (the shared ones come from `loadConfig`). */
export type CompilerSettings = {
  /** Write a snapshot once this many events were folded since the last one (0 = never by count). */
  readonly snapshotEveryEvents: number;
  /** Write a snapshot once this long passed since the last one, if anything was folded (0 = never by time). */
  readonly snapshotEveryMs: number;
  /** Snapshots kept in the object store; older ones are deleted after each write. */
  readonly snapshotsKept: number;
  readonly heartbeatMs: number;
  /** While following, evaluate at least every this many events even if more are pending. */
  readonly maxBatchEvents: number;
  /**
   * Nodes of one evaluation whose only change is set contents that get pointers to one signed manifest
   * instead of a signed DELTA each, at least (fewer: DELTAs; the manifest's signature is not worth it).
   */
  readonly pointerMinNodes: number;
  /**
   * KNP_SIGNING_KEY signs this replica's rule sets and snapshots; KNP_TRUSTED_WATCHER_KEYS: only events
   * signed by these keys are folded; KNP_TRUSTED_COMPILER_KEYS: only snapshots signed by these keys are
   * loaded, and only published rule sets signed by them stand.
   */
  readonly signing: SigningSettings;
};

export const DEFAULT_COMPILER_SETTINGS: CompilerSettings = {
  snapshotEveryEvents: 10_000,
  snapshotEveryMs: 300_000,
  snapshotsKept: 2,
  heartbeatMs: 10_000,
  maxBatchEvents: 10_000,
  pointerMinNodes: MANIFEST_MIN_NODES,
  signing: { signer: undefined, watchers: { mode: 'unsigned' }, compilers: { mode: 'unsigned' } },
};

/**
 * Reads KNP_SNAPSHOT_EVENTS, KNP_SNAPSHOT_S (0 = off), KNP_HEARTBEAT_S, KNP_COMPILER_MAX_BATCH, KNP_POINTER_MIN_NODES and the
 * signing variables (readSigningSettings; the stream sizing is `knp init`'s); every problem is listed with
 * variable, value and expectation.
 */
export function loadCompilerSettings(env: Readonly<Record<string, string | undefined>>): CompilerSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const d = DEFAULT_COMPILER_SETTINGS;
  const snapshotEveryEvents = int('KNP_SNAPSHOT_EVENTS', d.snapshotEveryEvents, 0, 1_000_000_000);
  const snapshotS = int('KNP_SNAPSHOT_S', d.snapshotEveryMs / 1000, 0, 86_400);
  const heartbeatS = int('KNP_HEARTBEAT_S', d.heartbeatMs / 1000, 1, 3_600);
  const maxBatchEvents = int('KNP_COMPILER_MAX_BATCH', d.maxBatchEvents, 1, 10_000_000);
  const pointerMinNodes = int('KNP_POINTER_MIN_NODES', d.pointerMinNodes, 1, 1_000_000);
  const read = readSigningSettings(env, problems);
  // a compiler that signs but was given no compiler keys trusts its own: a forged rule set on a node's
  // subject is then published over, never deferred to as a newer version (see README, Security)
  const signing = read.signer !== undefined && read.compilers.mode === 'unsigned'
    ? { ...read, compilers: { mode: 'signed' as const, keys: new Map([[read.signer.keyId, read.signer.publicKey]]) } }
    : read;
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...d,
    snapshotEveryEvents,
    snapshotEveryMs: snapshotS * 1000,
    heartbeatMs: heartbeatS * 1000,
    maxBatchEvents,
    pointerMinNodes,
    signing,
  };
}
