import { serviceMain } from '@knp/shared';
import { runWatcher } from './watcher.js';
import { loadWatcherSettings } from './watcher-config.js';

const USAGE = `usage: knp watcher

Lists and watches Pods, Namespaces and NetworkPolicies and publishes them to <PREFIX>_EVENTS.
Environment: KNP_NATS_URL, KNP_PREFIX, KNP_LOG_LEVEL, KUBECONFIG (else in-cluster),
KNP_STREAM_REPLICAS, KNP_EVENTS_MAX_AGE_S, KNP_EVENTS_MAX_BYTES (0 = full history), KNP_HEARTBEAT_S.
`;

/** `bin/knp watcher`: runs until SIGINT/SIGTERM; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return serviceMain(argv, {
    name: 'watcher',
    usage: USAGE,
    settings: (_config, env) => loadWatcherSettings(env),
    start: (config, settings, log) => runWatcher(config, log, { streams: settings.streams, heartbeatMs: settings.heartbeatMs }),
  });
}
