import type { ApplierRecord, CompilerStatus, RejectionsRecord, RuleSetVersion, WatcherStatus } from '@knp/shared';

/** The newest rule set on a node's rules subject, or why it could not be read. */
export type DesiredRuleSet = {
  readonly node: string;
  readonly version?: RuleSetVersion;
  readonly hash?: string;
  readonly error?: string;
};

/** Everything the operator commands judge, read at one moment (`nowMs`): the status bucket's records and the streams. */
export type ClusterFacts = {
  readonly nowMs: number;
  readonly prefix: string;
  /** The events stream: its epoch (undefined when it does not exist) and last sequence. */
  readonly events: { readonly epoch: string | undefined; readonly lastSeq: number };
  readonly watcher: WatcherStatus | undefined;
  readonly compilers: readonly CompilerStatus[];
  readonly rejections: RejectionsRecord | undefined;
  readonly appliers: readonly ApplierRecord[];
  readonly desired: readonly DesiredRuleSet[];
  /** Whether the newest rule sets were checked against trusted compiler keys (KNP_TRUSTED_COMPILER_KEYS set). */
  readonly verified?: boolean;
};
