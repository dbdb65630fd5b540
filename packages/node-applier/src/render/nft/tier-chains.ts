import { assertNever, kernelName, type Direction, type Tier, type TierAction } from '@knp/shared';
import { renderTerm, type NftVerdict, type TermContext } from './terms.js';
import { nftComment } from './text.js';
import type { NftChainPlan } from './plan.js';
import type { IndexedTierRule } from '../common/tiers.js';

/**
 * The nft side of ClusterNetworkPolicy tiers. An Accept or Deny tier rule is a chain of its own, shared by
 * every pod and list using it, each line `<match> accept` or `<match> drop` (accept ends only this
 * direction's base chain, drop is final). A tier list (the ordered rules of one tier for a group of pods)
 * is a chain jumping to each rule's chain in order; a Pass rule is inlined there as `<match> return`,
 * which leaves the list chain and so the whole tier (a shared per-rule chain could only leave itself).
 */
export type TierChains = {
  /** The chain name of each Accept/Deny tier rule, and the inlined `return` lines of each Pass rule. */
  readonly entries: ReadonlyMap<string, { readonly jump: string } | { readonly lines: readonly string[] }>;
  readonly chains: readonly NftChainPlan[];
};

const VERDICT: Record<TierAction, NftVerdict> = { Accept: 'accept', Deny: 'drop', Pass: 'return' };

/** Every tier rule rendered once (so a bad one fails even when no pod uses it). */
export function planTierRuleChains(prefix: string, tiers: ReadonlyMap<string, IndexedTierRule>, ctx: TermContext): TierChains {
  const entries = new Map<string, { jump: string } | { lines: string[] }>();
  const chains: NftChainPlan[] = [];
  for (const { rule, where } of tiers.values()) {
    const lines = rule.terms.flatMap((term, t) => renderTerm(term, rule.direction, ctx, `${where}.terms[${t}]`, VERDICT[rule.action]));
    switch (rule.action) {
      case 'Pass':
        entries.set(rule.id, { lines });
        break;
      case 'Accept':
      case 'Deny': {
        const name = kernelName(prefix, rule.direction === 'ingress' ? 'in' : 'eg', `tier/${rule.id}`);
        const o = rule.origin;
        chains.push({ name, comment: nftComment(`${o.policy} ${o.tier} ${o.priority} ${rule.direction}[${o.rule}] ${rule.action}`), rules: lines });
        entries.set(rule.id, { jump: name });
        break;
      }
      default:
        assertNever(rule.action);
    }
  }
  return { entries, chains };
}

/** The chain of one tier list (created once per distinct list and shared): its name. */
export function tierListChain(prefix: string, direction: Direction, tier: Tier, ids: readonly string[], tierChains: TierChains, lists: Map<string, NftChainPlan>): string {
  const name = kernelName(prefix, 'pod', `tier:${direction}:${tier}:${ids.join(',')}`);
  if (!lists.has(name)) {
    const rules = ids.flatMap((id) => {
      const entry = tierChains.entries.get(id)!;
      return 'jump' in entry ? [`jump ${entry.jump}`] : entry.lines;
    });
    lists.set(name, { name, comment: nftComment(`${direction} ${tier} tier`), rules });
  }
  return name;
}
