import type { Config, Logger } from '@knp/shared';
import { assertNever } from '@knp/shared';
import type { Backend } from '../backend.js';
import { iptablesBackend } from './ipt-backend.js';
import { nftBackend } from './nft-backend.js';

/** The backend KNP_BACKEND names, running its kernel commands in KNP_NETNS when set. */
export function createBackend(config: Config, log: Logger): Backend {
  const options = { prefix: config.prefix, netns: config.netns };
  switch (config.backend) {
    case 'nftables':
      return nftBackend(options);
    case 'iptables':
      return iptablesBackend({ ...options, log });
    default:
      return assertNever(config.backend);
  }
}
