import { subjectToken, type RuleSetVersion } from '@knp/shared';

export const APPLIER_STATUS_SCHEMA = 1;

/** An applier's key in the `<PREFIX>_status` bucket: `applier.<base64url node>` (a node name's dots would split the key). */
export const applierStatusKey = (node: string): string => `applier.${subjectToken(node)}`;
export const APPLIER_KEY_PREFIX = 'applier.';

export type ApplierErrorKind = 'refused' | 'unreadable' | 'apply-failed';

/** What one applier records on every heartbeat and after every rule set it handles. */
export type ApplierRecord = {
  readonly schema: typeof APPLIER_STATUS_SCHEMA;
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
};
