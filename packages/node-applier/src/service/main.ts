import type { Service } from '@knp/shared';
import { runApplierService } from './applier-service.js';
import { loadApplierSettings, type ApplierSettings } from './settings.js';

const USAGE = `usage: knp applier

Enforces this node's rule sets: the one kept in KNP_STATE_DIR at once, then the newest on <prefix>.rules.<node>,
then every newer one (durable consumer: apply, then ack). Reports to the <PREFIX>_status bucket.
Environment: KNP_NODE_NAME (required), KNP_NATS_URL (and the KNP_NATS_* identity and TLS variables), KNP_PREFIX,
KNP_BACKEND (nftables|iptables), KNP_IPTABLES_MODE (auto|nft|legacy: the iptables client; auto = the one whose
rules the node holds), KNP_NETNS, KNP_STATE_DIR, KNP_LOG_LEVEL, KNP_HTTP_PORT (unset = off), KNP_HEARTBEAT_S (10),
KNP_RECONCILE_S (30; 0 = off).
`;

/** `knp applier`: the service `serviceMain` runs until SIGINT/SIGTERM. */
export const applierService: Service<ApplierSettings> = {
  name: 'applier',
  usage: USAGE,
  settings: loadApplierSettings,
  start: (config, settings, log) => runApplierService(config, log, { settings }),
};
