import type { Family } from '@knp/shared';
import { chooseIptablesVariant, saveFacts, type IptablesMode, type IptablesVariant, type SaveFacts, type VariantChoice } from '../iptables-variant.js';
import { iptablesTool } from './ipt.js';
import { runCommand, type KernelTarget } from './run.js';

/**
 * One variant's `iptables-save` and `ip6tables-save` over every table (no `-t`: naming a table makes the
 * legacy kernel side create it), as facts; undefined when its IPv4 tool cannot run or fails.
 */
export async function readSaveFacts(variant: IptablesVariant, target: KernelTarget): Promise<SaveFacts | undefined> {
  const t: KernelTarget = { ...target, iptables: variant };
  const save = (family: Family): Promise<string | undefined> =>
    runCommand([iptablesTool(family, 'save', t)], t).then((r) => (r.code === 0 ? r.stdout : undefined), () => undefined);
  const [v4, v6] = await Promise.all([save(4), save(6)]);
  return v4 === undefined ? undefined : saveFacts(`${v4}${v6 ?? ''}`);
}

/** KNP_IPTABLES_MODE resolved on this node: `auto` reads both variants' rules and lets the pure choice decide. */
export async function detectIptablesVariant(mode: IptablesMode, target: KernelTarget): Promise<VariantChoice> {
  if (mode !== 'auto') return chooseIptablesVariant(mode, undefined, undefined);
  const [nft, legacy] = await Promise.all([readSaveFacts('nft', target), readSaveFacts('legacy', target)]);
  return chooseIptablesVariant(mode, nft, legacy);
}
