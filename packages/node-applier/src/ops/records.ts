import type { RuleSetVersion } from '@knp/shared';
import type { ApplierRecord } from '../service/status.js';

/*
 * What `knp wait` and `knp status` read from the `<PREFIX>_status` bucket and the streams: the fields they
 * use of each service's record, declared here so the operator commands do not load the services. Sources:
 * packages/watcher/src/status.ts (key `watcher`), packages/compiler/src/service/status.ts (keys
 * `compiler.<instance>` and `compiler.rejections`), ../service/status.ts (keys `applier.<node token>`).
 */

export type WatcherRecord = {
  readonly instance: string;
  readonly epoch: string;
  readonly heartbeatAt: string;
  readonly kinds: Readonly<Record<string, { readonly resourceVersion: string; readonly listed: boolean; readonly objects: number }>>;
  readonly pending: number;
  readonly upToDate: boolean;
  readonly published: number;
  /** Stream sequence of the last event the watcher published (acked). */
  readonly lastSeq: number;
};

export type CompilerRecord = {
  readonly instance: string;
  readonly epoch: string;
  readonly heartbeatAt: string;
  readonly lastSeq: number;
  /** Consumed stream sequence the last evaluation (compile + publish) covered. */
  readonly evaluatedSeq: number;
  readonly caughtUp: boolean;
  readonly nodes: number;
  readonly published: number;
  readonly errors: number;
};

export type RejectionsRecord = {
  readonly epoch: string;
  readonly seq: number;
  readonly count: number;
  readonly rejections: readonly { readonly object: string; readonly field: string; readonly reason: string }[];
};

/** The newest rule set on a node's rules subject, or why it could not be read. */
export type DesiredRuleSet = {
  readonly node: string;
  readonly version?: RuleSetVersion;
  readonly hash?: string;
  readonly error?: string;
};

/** Everything the operator commands judge, read at one moment (`nowMs`). */
export type ClusterFacts = {
  readonly nowMs: number;
  readonly prefix: string;
  /** The events stream: its epoch (undefined when it does not exist) and last sequence. */
  readonly events: { readonly epoch: string | undefined; readonly lastSeq: number };
  readonly watcher: WatcherRecord | undefined;
  readonly compilers: readonly CompilerRecord[];
  readonly rejections: RejectionsRecord | undefined;
  readonly appliers: readonly ApplierRecord[];
  readonly desired: readonly DesiredRuleSet[];
};
