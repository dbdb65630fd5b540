import type { Service } from '@knp/shared';
import { runWatcher } from './watcher.js';
import { loadWatcherSettings, type WatcherSettings } from './watcher-config.js';

const USAGE = `usage: knp watcher

Lists and watches Pods, Namespaces and NetworkPolicies and publishes them to <PREFIX>_EVENTS.
Environment: KNP_NATS_URL and the KNP_NATS_* authentication and TLS variables, KNP_PREFIX, KNP_LOG_LEVEL,
KNP_HTTP_PORT (unset = off), KUBECONFIG (else in-cluster), KNP_HEARTBEAT_S, KNP_SIGNING_KEY (the private key events
are signed with; unset: unsigned, with a warning). The streams come from \`knp init\`: until they exist it waits.
KNP_LEASE_NAMESPACE (knp), KNP_LEASE_NAME (knp-watcher), KNP_LEASE_DURATION_S (15), KNP_LEASE_RENEW_S (2):
only the holder of this Lease publishes; the others stand by. Losing it exits the process (code 1).
KNP_WATCHER_MAX_QUEUE (10000): pending events above which the informers stop until half are published.
KNP_LIST_PAGE_SIZE (500): items per list page.
`;

/** `knp watcher`: the service `serviceMain` runs until SIGINT/SIGTERM. */
export const watcherService: Service<WatcherSettings> = {
  name: 'watcher',
  usage: USAGE,
  settings: loadWatcherSettings,
  start: (config, settings, log) =>
    runWatcher(config, log, {
      heartbeatMs: settings.heartbeatMs, kubeconfigPath: settings.kubeconfig, signer: settings.signer,
      lease: settings.lease, maxQueue: settings.maxQueue, listPageSize: settings.listPageSize, ...(process.env.HOSTNAME ? { podName: process.env.HOSTNAME } : {}),
      // another watcher may already publish: exit at once, and Kubernetes restarts us as a standby
      onLeaseLost: (reason) => {
        log.error({ reason }, 'lease lost; exiting so that this watcher restarts as a standby');
        process.exit(1);
      },
    }),
};
