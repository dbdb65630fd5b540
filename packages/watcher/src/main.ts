import type { Service } from '@knp/shared';
import { runWatcher } from './watcher.js';
import { loadWatcherSettings, type WatcherSettings } from './watcher-config.js';

const USAGE = `usage: knp watcher

Lists and watches Pods, Namespaces and NetworkPolicies and publishes them to <PREFIX>_EVENTS.
Environment: KNP_NATS_URL, KNP_PREFIX, KNP_LOG_LEVEL, KNP_HTTP_PORT (unset = off), KUBECONFIG (else in-cluster),
KNP_STREAM_REPLICAS, KNP_EVENTS_MAX_AGE_S, KNP_EVENTS_MAX_BYTES (0 = full history), KNP_HEARTBEAT_S,
KNP_SIGNING_KEY (the private key events are signed with; unset: unsigned, with a warning).
`;

/** `knp watcher`: the service `serviceMain` runs until SIGINT/SIGTERM. */
export const watcherService: Service<WatcherSettings> = {
  name: 'watcher',
  usage: USAGE,
  settings: loadWatcherSettings,
  start: (config, settings, log) => runWatcher(config, log, { streams: settings.streams, heartbeatMs: settings.heartbeatMs, kubeconfigPath: settings.kubeconfig, signer: settings.signer }),
};
