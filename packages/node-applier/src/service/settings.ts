import { ConfigError, type Config, intVariables } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from '@knp/shared/nats';

/** The applier's own settings (the shared ones come from `loadConfig`). */
export type ApplierSettings = {
  /** KNP_NODE_NAME: the node whose rule sets this applier enforces (required). */
  readonly node: string;
  readonly streams: StreamSettings;
  /** Status record period; a record older than 3 periods is not "fresh" for `knp wait`. */
  readonly heartbeatMs: number;
  /** Drift check period (`Applier.reconcile`); 0 = never. */
  readonly reconcileMs: number;
  /** Delay before a rule set that failed to apply is delivered again. */
  readonly retryDelayMs: number;
};

export const DEFAULT_APPLIER_SETTINGS: Omit<ApplierSettings, 'node'> = {
  streams: DEFAULT_STREAM_SETTINGS,
  heartbeatMs: 10_000,
  reconcileMs: 30_000,
  retryDelayMs: 5_000,
};

/**
 * Reads KNP_NODE_NAME (required here), KNP_HEARTBEAT_S, KNP_RECONCILE_S (0 = off) and KNP_STREAM_REPLICAS;
 * every problem is listed with variable, value and expectation.
 */
export function loadApplierSettings(config: Config, env: Readonly<Record<string, string | undefined>>): ApplierSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  if (config.nodeName === undefined) problems.push('KNP_NODE_NAME: required by the applier (the node whose rules it enforces)');
  const d = DEFAULT_APPLIER_SETTINGS;
  const heartbeatS = int('KNP_HEARTBEAT_S', d.heartbeatMs / 1000, 1, 3_600);
  const reconcileS = int('KNP_RECONCILE_S', d.reconcileMs / 1000, 0, 86_400);
  const replicas = int('KNP_STREAM_REPLICAS', d.streams.replicas, 1, 5);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...d,
    node: config.nodeName!,
    streams: { ...d.streams, replicas },
    heartbeatMs: heartbeatS * 1000,
    reconcileMs: reconcileS * 1000,
  };
}
