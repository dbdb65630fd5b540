import type { Service } from '@knp/shared';
import { runWatcher } from './watcher.js';
import { loadWatcherSettings, type WatcherSettings } from './watcher-config.js';

const USAGE = `usage: knp watcher

Lists and watches Pods, Namespaces and NetworkPolicies and publishes them to <PREFIX>_EVENTS.
Environment: KNP_NATS_URL and the KNP_NATS_* authentication and TLS variables, KNP_PREFIX, KNP_LOG_LEVEL,
KNP_HTTP_PORT (unset = off), KUBECONFIG (else in-cluster), KNP_HEARTBEAT_S, KNP_SIGNING_KEY (the private key events
are signed with; unset: unsigned, with a warning). The streams come from \`knp init\`: until they exist it waits.
`;

/** `knp watcher`: the service `serviceMain` runs until SIGINT/SIGTERM. */
export const watcherService: Service<WatcherSettings> = {
  name: 'watcher',
  usage: USAGE,
  settings: loadWatcherSettings,
  start: (config, settings, log) => runWatcher(config, log, { heartbeatMs: settings.heartbeatMs, kubeconfigPath: settings.kubeconfig, signer: settings.signer }),
};
