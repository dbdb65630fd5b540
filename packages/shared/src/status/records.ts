import type { ObjectKind, WatchedKind } from '../envelope.js';
import type { Rejection } from '../rejection.js';
import type { RuleSetVersion } from '../ruleset.js';
import { subjectToken } from '../names.js';
import type { RefusalReason } from '../signing/trust.js';

/*
 * The records every service keeps in the `<PREFIX>_status` bucket, and their keys: written by the watcher,
 * the compilers and the appliers, read by `knp wait` and `knp status`. One declaration for writers and readers.
 */

export const STATUS_SCHEMA = 1;

/** The watcher's key. */
export const WATCHER_STATUS_KEY = 'watcher';
/** One key per compiler replica: `compiler.<instance>`. */
export const COMPILER_KEY_PREFIX = 'compiler.';
export const compilerStatusKey = (instance: string): string => `${COMPILER_KEY_PREFIX}${instance}`;
/** The rejected policies of the whole cluster (written by whichever compiler evaluated last). */
export const REJECTIONS_KEY = 'compiler.rejections';
/** One key per node: `applier.<base64url node>` (a node name's dots would split the key). */
export const APPLIER_KEY_PREFIX = 'applier.';
export const applierStatusKey = (node: string): string => `${APPLIER_KEY_PREFIX}${subjectToken(node)}`;

export type KindStatus = {
  /** Last resourceVersion seen for the kind: lists, events (also those filtered out) and bookmarks. */
  readonly resourceVersion: string;
  /** Whether a list of the kind has completed since the watcher (re)started. */
  readonly listed: boolean;
  /** Live objects of the kind as the watcher knows them. */
  readonly objects: number;
  /**
   * The kind is not served (its CRD is not installed: ClusterNetworkPolicy): the watcher published an
   * empty sync of it and retries discovery with backoff. Absent when served.
   */
  readonly absent?: true;
};

/** What the watcher records on every heartbeat and whenever its queue drains. */
export type WatcherStatus = {
  readonly schema: typeof STATUS_SCHEMA;
  readonly instance: string;
  readonly epoch: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** One entry per kind the watcher watches (WATCHED_KINDS). */
  readonly kinds: Readonly<Record<WatchedKind, KindStatus>>;
  /** Events seen and not yet acknowledged by the stream. */
  readonly pending: number;
  /** Every kind listed and everything seen published. */
  readonly upToDate: boolean;
  readonly published: number;
  readonly duplicates: number;
  /** Stream sequence of the last event the watcher published (acked). */
  readonly lastSeq: number;
  /** The key the watcher signs events with, and its instance start (the origin's); absent: unsigned. */
  readonly signing?: { readonly keyId: string; readonly start: number };
};

/** Whether a decoded status record says the watcher is caught up (for tests, readiness and the CLI). */
export function isUpToDate(status: WatcherStatus | undefined, instance?: string): boolean {
  return status !== undefined && status.upToDate && (instance === undefined || status.instance === instance);
}

/** What a compiler replica records on every heartbeat and after every evaluation. */
export type CompilerStatus = {
  readonly schema: typeof STATUS_SCHEMA;
  readonly instance: string;
  readonly epoch: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Stream sequence of the last message consumed. */
  readonly lastSeq: number;
  /** Consumed sequence the last evaluation (compile + publish) covered. */
  readonly evaluatedSeq: number;
  /** The backlog present at start has been folded and evaluated once, and the publish gate is open (signing.waitingForSync empty). */
  readonly caughtUp: boolean;
  /** Snapshot the replica started from (0: the start of the stream). */
  readonly startedFromSeq: number;
  readonly lastSnapshotSeq: number;
  readonly nodes: number;
  readonly published: number;
  readonly adopted: number;
  readonly behind: number;
  readonly errors: number;
  /** Absent in records of older versions. */
  readonly signing?: CompilerSigningStatus;
  readonly input?: CompilerInputStatus;
};

/** What a compiler requires of its input (see README "Security"). */
export type CompilerSigningStatus = {
  /** `signed`: only events signed by trusted watcher keys are folded; `unsigned`: any event (a warning). */
  readonly events: 'signed' | 'unsigned';
  /** `signed`: only snapshots signed by trusted compiler keys are loaded. */
  readonly snapshots: 'signed' | 'unsigned';
  readonly signsSnapshots: boolean;
  readonly keyId?: string;
  /** Kinds without a signed full sync yet: while any is listed, the replica publishes nothing. */
  readonly waitingForSync: readonly ObjectKind[];
};

/** What the compiler refused (signature, replay) or rejected (malformed) at its edge, the newest with their sequences. */
export type CompilerInputStatus = {
  readonly refused: number;
  readonly refusedByReason: Readonly<Partial<Record<RefusalReason, number>>>;
  readonly recentRefused: readonly { readonly seq: number; readonly subject: string; readonly reason: RefusalReason; readonly detail: string }[];
  readonly rejected: number;
  readonly recentRejected: readonly (Rejection & { readonly seq: number; readonly skipped: boolean })[];
};

/** The rejected policies of the whole cluster as of `seq` (capped; `count` is the full number). */
export type RejectionsRecord = {
  readonly schema: typeof STATUS_SCHEMA;
  readonly epoch: string;
  readonly seq: number;
  readonly count: number;
  readonly rejections: readonly Rejection[];
};

export const MAX_RECORDED_REJECTIONS = 1_000;

export type ApplierErrorKind = 'refused' | 'unreadable' | 'apply-failed';

/** What one applier records on every heartbeat and after every rule set it handles. */
export type ApplierRecord = {
  readonly schema: typeof STATUS_SCHEMA;
  readonly node: string;
  readonly instance: string;
  readonly backend: 'nftables' | 'iptables';
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** The heartbeat period, so readers can tell a fresh record from a dead applier's last one. */
  readonly heartbeatMs: number;
  /** The rule set in force: its version and content hash, and when it was applied (or found already applied). */
  readonly version?: RuleSetVersion;
  readonly hash?: string;
  readonly appliedAt?: string;
  /** The last problem; cleared when a newer rule set applies. The rules in force stay those above. */
  readonly error?: { readonly kind: ApplierErrorKind; readonly message: string; readonly at: string; readonly version?: RuleSetVersion };
  /** Transactions actually sent to the kernel by this process (a restart that finds its rules in place sends none). */
  readonly kernelWrites: number;
  /** Drift repairs by the reconcile timer. */
  readonly repairs: number;
  /** `unsigned`: no compiler key is trusted (KNP_TRUSTED_COMPILER_KEYS unset), rule sets are applied unverified. */
  readonly trust?: 'signed' | 'unsigned';
  /** Rule sets refused since the applier started (acked, never applied): counts by reason and the last one. */
  readonly refused?: {
    readonly total: number;
    readonly byReason: Readonly<Record<string, number>>;
    readonly last: { readonly reason: string; readonly detail: string; readonly source: string; readonly at: string };
  };
};
