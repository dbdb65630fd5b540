import type { RuleSet } from '@knp/shared';
import { renderNft } from './nft/print.js';
import { renderIpset, renderIptables } from './iptables/print.js';

/**
 * Kernel formats for `knp compile --format` and `knp replay --format`: exactly what the applier loads into a
 * node that holds none of our rules. For iptables: `ipset restore < ipset`, then `iptables-restore --noflush
 * < iptables` (and `ip6tables-restore --noflush < ip6tables` when the node has IPv6 pods).
 */
export const renderers: Readonly<Record<string, (ruleSet: RuleSet, prefix: string) => string>> = {
  nft: (ruleSet, prefix) => renderNft(ruleSet, { prefix }),
  ipset: (ruleSet, prefix) => renderIpset(ruleSet, { prefix }),
  iptables: (ruleSet, prefix) => renderIptables(ruleSet, { prefix, family: 4 }),
  ip6tables: (ruleSet, prefix) => renderIptables(ruleSet, { prefix, family: 6 }),
};
