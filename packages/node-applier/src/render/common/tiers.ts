import { canonicalIp, RenderError, type CanonicalIp } from './text.js';
import type { Direction, LocalPod, Rule, RuleSetContent, Tier, TierAction, TierRule } from '@knp/shared';

/**
 * What both renderers need of ClusterNetworkPolicy tiers: the tier rules by id (checked once), and per
 * direction the local pod IPs grouped by what decides their traffic. A pod direction is decided by its
 * admin tier rules in order (Accept allows, Deny drops, Pass leaves the tier), then NetworkPolicy (when
 * isolated its rules allow, else it drops), then its baseline tier rules in order, then it is allowed.
 */
const TIER_ACTIONS: readonly TierAction[] = ['Accept', 'Deny', 'Pass'];
const TIERS: readonly Tier[] = ['admin', 'baseline'];

export type IndexedTierRule = { readonly rule: TierRule; readonly where: string };

/** The tier rules by id; a RenderError for a duplicate id, an unknown direction or action, or an origin without a known tier. */
export function indexTierRules(ruleSet: RuleSetContent): Map<string, IndexedTierRule> {
  const index = new Map<string, IndexedTierRule>();
  const list = ruleSet.tierRules ?? [];
  if (!Array.isArray(list)) throw new RenderError('tierRules: not a list');
  for (const [i, rule] of list.entries()) {
    const where = `tierRules[${i}]`;
    if (typeof rule?.id !== 'string') throw new RenderError(`${where}.id: not a string`);
    if (index.has(rule.id)) throw new RenderError(`${where}: duplicate tier rule id ${JSON.stringify(rule.id)}`);
    if (rule.direction !== 'ingress' && rule.direction !== 'egress') throw new RenderError(`${where}.direction: ${JSON.stringify(rule.direction)} is not ingress or egress`);
    if (!TIER_ACTIONS.includes(rule.action)) throw new RenderError(`${where}.action: ${JSON.stringify(rule.action)} is not Accept, Deny or Pass`);
    if (!Array.isArray(rule.terms)) throw new RenderError(`${where}.terms: not a list`);
    if (!TIERS.includes(rule.origin?.tier)) throw new RenderError(`${where}.origin.tier: ${JSON.stringify(rule.origin?.tier)} is not admin or baseline`);
    index.set(rule.id, { rule, where });
  }
  return index;
}

/** The tier lists of one pod direction, each id checked: it names a tier rule of this direction and tier. */
export function podTierLists(pod: LocalPod, direction: Direction, tiers: ReadonlyMap<string, IndexedTierRule>, where: string): Record<Tier, string[]> {
  const dir = pod[direction];
  const out = { admin: [] as string[], baseline: [] as string[] };
  for (const tier of TIERS) {
    const ids = dir[tier];
    if (ids === undefined) continue;
    if (!Array.isArray(ids)) throw new RenderError(`${where}.${direction}.${tier}: not a list`);
    for (const [k, id] of ids.entries()) {
      const found = tiers.get(id);
      const at = `${where}.${direction}.${tier}[${k}]`;
      if (!found) throw new RenderError(`${at}: unknown tier rule ${JSON.stringify(id)}`);
      if (found.rule.direction !== direction) throw new RenderError(`${at}: tier rule ${JSON.stringify(id)} is an ${found.rule.direction} rule`);
      if (found.rule.origin.tier !== tier) throw new RenderError(`${at}: tier rule ${JSON.stringify(id)} belongs to the ${found.rule.origin.tier} tier`);
    }
    out[tier] = [...ids];
  }
  return out;
}

/** Everything that decides one direction for a group of local pod IPs (pods with the same decision share chains). */
export type Decision = {
  readonly isolated: boolean;
  /** NetworkPolicy rule ids, sorted, each once (empty when not isolated: they never decide then). */
  readonly ruleIds: readonly string[];
  /** Policies isolating the pods (`ns/name`), sorted: only for comments. */
  readonly policies: readonly string[];
  readonly admin: readonly string[];
  readonly baseline: readonly string[];
};
export type DecisionGroup = Decision & { readonly ips: readonly CanonicalIp[] };

/** Whether a decision involves any tier: without one, a pod renders exactly as before tiers existed. */
export const hasTiers = (d: Decision): boolean => d.admin.length > 0 || d.baseline.length > 0;

/**
 * The local pod IPs of one direction that are isolated or have tier rules, grouped by decision (a pod
 * neither isolated nor under a tier gets no entry: its traffic is not ours to judge). Pods are grouped by
 * IP first, so two pods claiming one address (a compiler bug or a stale IP) never yield two entries: the
 * address allows what any isolating pod's rules allow, and its tier lists are concatenated in pod order.
 */
export function decisionGroups(pods: readonly LocalPod[], direction: Direction, rules: ReadonlyMap<string, Rule>, tiers: ReadonlyMap<string, IndexedTierRule>): DecisionGroup[] {
  type Acc = { ip: CanonicalIp; isolated: boolean; ruleIds: Set<string>; policies: Set<string>; admin: string[]; baseline: string[] };
  const byIp = new Map<string, Acc>();
  for (const [i, pod] of pods.entries()) {
    const dir = pod[direction];
    for (const [r, id] of dir.rules.entries()) {
      const rule = rules.get(id);
      if (!rule) throw new RenderError(`pods[${i}].${direction}.rules[${r}]: unknown rule ${JSON.stringify(id)}`);
      if (rule.direction !== direction) throw new RenderError(`pods[${i}].${direction}.rules[${r}]: rule ${JSON.stringify(id)} is an ${rule.direction} rule`);
    }
    const lists = podTierLists(pod, direction, tiers, `pods[${i}]`);
    if (!dir.isolated && lists.admin.length === 0 && lists.baseline.length === 0) continue;
    for (const [j, text] of pod.ips.entries()) {
      const ip = canonicalIp(text, `pods[${i}].ips[${j}]`);
      const key = `${ip.family}/${ip.key}`;
      const acc = byIp.get(key) ?? { ip, isolated: false, ruleIds: new Set<string>(), policies: new Set<string>(), admin: [], baseline: [] };
      if (dir.isolated) {
        acc.isolated = true;
        dir.rules.forEach((id) => acc.ruleIds.add(id));
        dir.policies.forEach((p) => acc.policies.add(p));
      }
      for (const id of lists.admin) if (!acc.admin.includes(id)) acc.admin.push(id);
      for (const id of lists.baseline) if (!acc.baseline.includes(id)) acc.baseline.push(id);
      byIp.set(key, acc);
    }
  }
  const byIpOrder = (a: CanonicalIp, b: CanonicalIp): number => a.family - b.family || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const groups = new Map<string, { decision: Decision; ips: CanonicalIp[] }>();
  // in address order, so a group's comment policies are those of its lowest address, whatever the pod order
  for (const acc of [...byIp.values()].sort((a, b) => byIpOrder(a.ip, b.ip))) {
    const decision: Decision = { isolated: acc.isolated, ruleIds: [...acc.ruleIds].sort(), policies: [...acc.policies].sort(), admin: acc.admin, baseline: acc.baseline };
    const key = JSON.stringify([decision.isolated, decision.ruleIds, decision.admin, decision.baseline]);
    const group = groups.get(key) ?? { decision, ips: [] };
    group.ips.push(acc.ip);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ ...g.decision, ips: g.ips }));
}
