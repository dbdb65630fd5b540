import type { RuleSet } from '@knp/shared';
import { renderNft } from './nft/print.js';
import { renderIpset, renderIptables } from './iptables/print.js';

/**
 * Kernel formats for `knp compile --format` and `knp replay --format`: exactly what the applier loads into a
 * node that holds none of our rules. For iptables: `ipset restore < ipset`, then `iptables-restore --noflush
 * < iptables` (and `ip6tables-restore --noflush < ip6tables` when the node has IPv6 pods).
 */
export type KernelFormat = 'nft' | 'ipset' | 'iptables' | 'ip6tables';
export const KERNEL_FORMATS: readonly KernelFormat[] = ['nft', 'ipset', 'iptables', 'ip6tables'];

export const renderers: ReadonlyMap<KernelFormat, (ruleSet: RuleSet, prefix: string) => string> = new Map<KernelFormat, (ruleSet: RuleSet, prefix: string) => string>([
  ['nft', (ruleSet, prefix) => renderNft(ruleSet, { prefix })],
  ['ipset', (ruleSet, prefix) => renderIpset(ruleSet, { prefix })],
  ['iptables', (ruleSet, prefix) => renderIptables(ruleSet, { prefix, family: 4 })],
  ['ip6tables', (ruleSet, prefix) => renderIptables(ruleSet, { prefix, family: 6 })],
]);

/** A `--format` value: `ir` or a kernel format; undefined for anything else. */
export function parseFormat(text: string): 'ir' | KernelFormat | undefined {
  return text === 'ir' || (KERNEL_FORMATS as readonly string[]).includes(text) ? (text as 'ir' | KernelFormat) : undefined;
}
