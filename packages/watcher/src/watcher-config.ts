import { ConfigError, intVariables, readSigningSettings, textVariable, type SigningKey } from '@knp/shared';

export type WatcherSettings = {
  readonly heartbeatMs: number;
  /** KUBECONFIG: the kubeconfig file to reach the API with; unset = the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** KNP_SIGNING_KEY: the private key events are signed with; unset = unsigned (a warning at start and in status). */
  readonly signer: SigningKey | undefined;
};

/**
 * The watcher's own variables (the shared ones come from `loadConfig`): KNP_HEARTBEAT_S, KUBECONFIG,
 * KNP_SIGNING_KEY. The stream sizing (KNP_STREAM_REPLICAS, KNP_EVENTS_MAX_AGE_S, KNP_EVENTS_MAX_BYTES) is
 * `knp init`'s.
 */
export function loadWatcherSettings(env: Readonly<Record<string, string | undefined>>): WatcherSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const heartbeatS = int('KNP_HEARTBEAT_S', 10, 1, 3_600);
  const { signer } = readSigningSettings(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    heartbeatMs: heartbeatS * 1000,
    kubeconfig: textVariable(env, 'KUBECONFIG'),
    signer,
  };
}
