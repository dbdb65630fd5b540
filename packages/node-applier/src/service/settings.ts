import { ConfigError, intVariables, readSigningSettings, textVariable, type Trust } from '@knp/shared';
import { DEFAULT_KERNEL_SETTINGS, readKernelSettings, type KernelSettings } from '../kernel/select.js';

/** The applier's own settings (the shared ones come from `loadConfig`). */
export type ApplierSettings = {
  /** KNP_NODE_NAME: the node whose rule sets this applier enforces (required). */
  readonly node: string;
  /** KNP_BACKEND and KNP_NETNS: the kernel backend that enforces them, and where. */
  readonly kernel: KernelSettings;
  /** KNP_STATE_DIR: where the last applied rule set is kept, so a restart enforces it before NATS answers. */
  readonly stateDir: string;
  /** Status record period; a record older than 3 periods is not "fresh" for `knp wait`. */
  readonly heartbeatMs: number;
  /** Drift check period (`Applier.reconcile`); 0 = never. */
  readonly reconcileMs: number;
  /** Delay before a rule set that failed to apply is delivered again. */
  readonly retryDelayMs: number;
  /** KNP_TRUSTED_COMPILER_KEYS: whose rule sets are applied; `unsigned` (unset) applies them unverified, with a warning. */
  readonly trust: Trust;
};

export const DEFAULT_APPLIER_SETTINGS: Omit<ApplierSettings, 'node'> = {
  kernel: DEFAULT_KERNEL_SETTINGS,
  stateDir: '/var/lib/knp',
  heartbeatMs: 10_000,
  reconcileMs: 30_000,
  retryDelayMs: 5_000,
  trust: { mode: 'unsigned' },
};

/**
 * Reads KNP_NODE_NAME (required), KNP_BACKEND, KNP_NETNS, KNP_STATE_DIR, KNP_HEARTBEAT_S, KNP_RECONCILE_S
 * (0 = off) and KNP_TRUSTED_COMPILER_KEYS; every problem is listed with variable, value and expectation.
 */
export function loadApplierSettings(env: Readonly<Record<string, string | undefined>>): ApplierSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const d = DEFAULT_APPLIER_SETTINGS;
  const node = textVariable(env, 'KNP_NODE_NAME');
  if (node === undefined) problems.push('KNP_NODE_NAME: required by the applier (the node whose rules it enforces)');
  else if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node))
    problems.push(`KNP_NODE_NAME: ${JSON.stringify(node)} is not a Kubernetes node name (DNS subdomain)`);
  const kernel = readKernelSettings(env, problems);
  const stateDir = textVariable(env, 'KNP_STATE_DIR') ?? d.stateDir;
  if (!stateDir.startsWith('/')) problems.push(`KNP_STATE_DIR: ${JSON.stringify(stateDir)} must be an absolute path`);
  const heartbeatS = int('KNP_HEARTBEAT_S', d.heartbeatMs / 1000, 1, 3_600);
  const reconcileS = int('KNP_RECONCILE_S', d.reconcileMs / 1000, 0, 86_400);
  const trust = readSigningSettings(env, problems).compilers;
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...d,
    node: node!,
    kernel,
    stateDir,
    heartbeatMs: heartbeatS * 1000,
    reconcileMs: reconcileS * 1000,
    trust,
  };
}
