import type { Direction, Tier, TierAction } from '../ruleset.js';

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const TIERS: readonly Tier[] = ['admin', 'baseline'];
const ACTIONS: readonly TierAction[] = ['Accept', 'Deny', 'Pass'];
const SET_KINDS = ['pods', 'cidr', 'nodes', 'pod-ports'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * What is wrong with the ClusterNetworkPolicy parts of a received rule set, or undefined: the tier rules
 * (id, direction, action, terms list, origin), every pod direction's `admin` / `baseline` list (each id a
 * tier rule of that direction and tier), and each set's kind (a `nodes` set: id, selector, ips). Terms
 * and addresses are the renderer's to check (it refuses what it cannot print); this names the field.
 */
export function tierShapeProblem(v: Record<string, unknown>): string | undefined {
  const tiers = new Map<string, { direction: Direction; tier: Tier }>();
  if (v.tierRules !== undefined) {
    if (!Array.isArray(v.tierRules)) return 'tierRules is not a list';
    for (const [i, r] of (v.tierRules as unknown[]).entries()) {
      const at = `tierRules[${i}]`;
      if (!isObject(r)) return `${at} is not an object`;
      if (typeof r.id !== 'string' || r.id === '') return `${at}.id is not a non-empty string`;
      if (tiers.has(r.id)) return `${at}.id ${JSON.stringify(r.id)} is a duplicate`;
      if (!DIRECTIONS.includes(r.direction as Direction)) return `${at}.direction is not ingress or egress`;
      if (!ACTIONS.includes(r.action as TierAction)) return `${at}.action is not Accept, Deny or Pass`;
      if (!Array.isArray(r.terms) || !r.terms.every(isObject)) return `${at}.terms is not a list of terms`;
      const o = r.origin;
      if (!isObject(o)) return `${at}.origin is not an object`;
      if (typeof o.policy !== 'string') return `${at}.origin.policy is not a string`;
      if (!TIERS.includes(o.tier as Tier)) return `${at}.origin.tier is not admin or baseline`;
      if (!Number.isInteger(o.priority) || (o.priority as number) < 0 || (o.priority as number) > 1000) return `${at}.origin.priority is not an integer 0-1000`;
      if (!Number.isInteger(o.rule) || (o.rule as number) < 0) return `${at}.origin.rule is not a rule index`;
      tiers.set(r.id, { direction: r.direction as Direction, tier: o.tier as Tier });
    }
  }
  for (const [i, pod] of (v.pods as unknown[]).entries()) {
    if (!isObject(pod)) return `pods[${i}] is not an object`;
    for (const direction of DIRECTIONS) {
      const dir = pod[direction];
      if (!isObject(dir)) return `pods[${i}].${direction} is not an object`;
      for (const tier of TIERS) {
        const ids = dir[tier];
        if (ids === undefined) continue;
        const at = `pods[${i}].${direction}.${tier}`;
        if (!isStringList(ids)) return `${at} is not a list of tier rule ids`;
        for (const [k, id] of ids.entries()) {
          const found = tiers.get(id);
          if (!found) return `${at}[${k}] ${JSON.stringify(id)} names no tier rule`;
          if (found.direction !== direction || found.tier !== tier) return `${at}[${k}] ${JSON.stringify(id)} is an ${found.tier} ${found.direction} rule`;
        }
      }
    }
  }
  for (const [i, set] of (v.sets as unknown[]).entries()) {
    if (!isObject(set) || !SET_KINDS.includes(set.kind as string)) return `sets[${i}].kind is not pods, cidr, nodes or pod-ports`;
    if (set.kind === 'nodes' && (typeof set.id !== 'string' || typeof set.selector !== 'string' || !isStringList(set.ips)))
      return `sets[${i}] is not a nodes set {id, selector, ips}`;
  }
  return undefined;
}
