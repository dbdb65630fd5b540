import { ConfigError, intVariables, readSigningSettings, textVariable, type SigningKey } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from '@knp/shared/nats';

export type WatcherSettings = {
  readonly streams: StreamSettings;
  readonly heartbeatMs: number;
  /** KUBECONFIG: the kubeconfig file to reach the API with; unset = the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** KNP_SIGNING_KEY: the private key events are signed with; unset = unsigned (a warning at start and in status). */
  readonly signer: SigningKey | undefined;
};

/**
 * The watcher's own variables (the shared ones come from `loadConfig`): KNP_STREAM_REPLICAS (1-5),
 * KNP_EVENTS_MAX_AGE_S and KNP_EVENTS_MAX_BYTES (0 = keep the full history), KNP_HEARTBEAT_S, KUBECONFIG,
 * KNP_SIGNING_KEY.
 */
export function loadWatcherSettings(env: Readonly<Record<string, string | undefined>>): WatcherSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const replicas = int('KNP_STREAM_REPLICAS', DEFAULT_STREAM_SETTINGS.replicas, 1, 5);
  const maxAgeS = int('KNP_EVENTS_MAX_AGE_S', 0, 0, 10 * 365 * 86_400);
  const maxBytes = int('KNP_EVENTS_MAX_BYTES', 0, 0, Number.MAX_SAFE_INTEGER);
  const heartbeatS = int('KNP_HEARTBEAT_S', 10, 1, 3_600);
  const { signer } = readSigningSettings(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    streams: { ...DEFAULT_STREAM_SETTINGS, replicas, eventsMaxAgeMs: maxAgeS * 1000, eventsMaxBytes: maxBytes },
    heartbeatMs: heartbeatS * 1000,
    kubeconfig: textVariable(env, 'KUBECONFIG'),
    signer,
  };
}
