import { makeRuleSet, type AddressSet, type Direction, type LocalPod, type Rule, type RuleSet, type Term, type Tier, type TierAction, type TierRule } from '@knp/shared';

/** Builders for hand-made ClusterNetworkPolicy tier rules in the IR (the renderer and applier tests). */
export const tierRule = (id: string, direction: Direction, action: TierAction, terms: Term[], tier: Tier = 'admin', priority = 10): TierRule => ({
  id, direction, action, terms, origin: { policy: `cnp-${id}`, tier, priority, rule: 0 },
});

export const nodesSet = (id: string, ips: string[]): AddressSet => ({ kind: 'nodes', id, selector: `nodes:${id}`, ips });

/** The tier lists of one pod: `{ ingress: { admin: [...] }, egress: { baseline: [...] } }`. */
export type PodTiers = Partial<Record<Direction, Partial<Record<Tier, string[]>>>>;

/** `pod` with the tier lists of `tiers` added (a direction's lists absent in `tiers` stay absent). */
export function withTiers(pod: LocalPod, tiers: PodTiers | undefined): LocalPod {
  if (!tiers) return pod;
  const dir = (d: Direction) => ({ ...pod[d], ...(tiers[d]?.admin ? { admin: tiers[d].admin } : {}), ...(tiers[d]?.baseline ? { baseline: tiers[d].baseline } : {}) });
  return { ...pod, ingress: dir('ingress'), egress: dir('egress') };
}

/** A rule set with tier rules (sorted by id, as the compiler publishes them; absent when none). */
export function tieredRuleSet(
  content: { node?: string; pods?: LocalPod[]; rules?: Rule[]; sets?: AddressSet[]; tierRules?: TierRule[] },
  seq = 1,
  epoch = 'e1',
): RuleSet {
  const tierRules = [...(content.tierRules ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return makeRuleSet(
    { node: content.node ?? 'node-1', pods: content.pods ?? [], rules: content.rules ?? [], sets: content.sets ?? [], ...(tierRules.length > 0 ? { tierRules } : {}) },
    { epoch, seq },
  );
}
