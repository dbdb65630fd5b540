import {
  assertNever,
  formatIp,
  isValidPrefix,
  kernelName,
  subtractCidrs,
  type AddressSet,
  type Direction,
  type Family,
  type IpRange,
  type Rule,
  type RuleSetContent,
} from '@knp/shared';
import { renderTerm, type SetNames } from './terms.js';
import { addrKeyword, addrType, nftComment } from './text.js';
import { planTierRuleChains, tierListChain, type TierChains } from './tier-chains.js';
import { RenderError, canonicalIp, familiesOf, mustParseCidr, mustPort, protoKeyword, sortedUnique, type CanonicalIp, type RenderOptions } from '../common/text.js';
import { decisionGroups, hasTiers, indexTierRules, type IndexedTierRule } from '../common/tiers.js';

/**
 * The nft table as data, before printing: sets (and verdict maps) with their printed elements, and chains
 * with their printed rules. Printing it is `printNft`; comparing two plans tells whether a change is only
 * set elements (`renderNftDelta`).
 */
export type NftSetPlan = {
  readonly name: string;
  /** nft type: `ipv4_addr`, `ipv4_addr . inet_proto . inet_service`, or `ipv4_addr : verdict` for a map. */
  readonly type: string;
  readonly map: boolean;
  readonly interval: boolean;
  /** What the set holds, so a delta knows which element changes are cheap. */
  readonly role: 'pods' | 'cidr' | 'pod-ports' | 'ports' | 'dispatch';
  readonly elements: readonly string[];
};
export type NftChainPlan = {
  readonly name: string;
  /** The base chain declaration line, for hook chains only. */
  readonly hook?: string;
  readonly comment?: string;
  readonly rules: readonly string[];
};
export type NftPlan = { readonly table: string; readonly sets: readonly NftSetPlan[]; readonly chains: readonly NftChainPlan[] };


const DIRECTIONS: readonly Direction[] = ['egress', 'ingress'];

/**
 * Why two base chains: an egress allow must not end evaluation before the destination's ingress check.
 * In netfilter an `accept` ends only the base chain it happens in; the packet then meets the next base
 * chain on the same hook, while a `drop` is final. So egress and ingress each get their own forward-hook
 * chain and a rule that allows simply accepts; traffic passes only when both chains let it through, in
 * either order. Priority filter (0) runs after conntrack (-200) and DNAT (-100), so `ct state` is known
 * and a Service's traffic is checked against the backend pod's address, as the spec requires.
 */
const HOOKS: Record<Direction, string> = {
  egress: 'type filter hook forward priority filter; policy accept;',
  ingress: 'type filter hook forward priority filter + 1; policy accept;',
};

/** Builds the table for one node's rule set. Pure; throws RenderError for a malformed rule set. */
export function planNft(ruleSet: RuleSetContent, options: RenderOptions): NftPlan {
  const { prefix } = options;
  if (!isValidPrefix(prefix)) throw new RenderError(`prefix ${JSON.stringify(prefix)} must be 1-8 of a-z0-9, starting with a letter`);
  const families = familiesOf(ruleSet);
  const sets: NftSetPlan[] = [];
  const setNames = new Map<string, SetNames>();
  for (const [i, set] of ruleSet.sets.entries()) {
    if (setNames.has(set.id)) throw new RenderError(`sets[${i}]: duplicate set id ${JSON.stringify(set.id)}`);
    const planned = planSet(prefix, set, families, `sets[${i}]`);
    setNames.set(set.id, { kind: set.kind, byFamily: new Map(planned.map((p) => [p.family, p.set.name])) });
    sets.push(...planned.map((p) => p.set));
  }

  const portSets = new Map<string, NftSetPlan>();
  const portSet = (items: readonly string[]): string => {
    const name = kernelName(prefix, 'as', `ports/${items.join(',')}`);
    if (!portSets.has(name)) portSets.set(name, { name, type: 'inet_service', map: false, interval: true, role: 'ports', elements: [...items] });
    return name;
  };
  const rules = new Map<string, Rule>();
  const ruleChains: NftChainPlan[] = [];
  for (const [i, rule] of ruleSet.rules.entries()) {
    if (rules.has(rule.id)) throw new RenderError(`rules[${i}]: duplicate rule id ${JSON.stringify(rule.id)}`);
    rules.set(rule.id, rule);
    const where = `rules[${i}]`;
    ruleChains.push({
      name: ruleChainName(prefix, rule),
      comment: nftComment(rule.origins.map((o) => `${o.policy} ${rule.direction}[${o.rule}]`).join(' ')),
      rules: rule.terms.flatMap((term, t) => renderTerm(term, rule.direction, { sets: setNames, portSet }, `${where}.terms[${t}]`)),
    });
  }

  const tiers = indexTierRules(ruleSet);
  const tierChains = planTierRuleChains(prefix, tiers, { sets: setNames, portSet });
  const listChains = new Map<string, NftChainPlan>();
  const podChains: NftChainPlan[] = [];
  const maps: NftSetPlan[] = [];
  const baseChains: NftChainPlan[] = [];
  for (const direction of DIRECTIONS) {
    const dispatch = planDispatch(prefix, direction, ruleSet, rules, tiers, tierChains, listChains);
    podChains.push(...dispatch.chains);
    const lines = ['ct state established,related accept'];
    for (const family of families) {
      const name = kernelName(prefix, 'pod', `dispatch/${direction}/v${family}`);
      const elements = dispatch.entries
        .filter((e) => e.ip.family === family)
        .map((e) => `${e.ip.text} : jump ${e.chain}`);
      maps.push({ name, type: `${addrType(family)} : verdict`, map: true, interval: false, role: 'dispatch', elements });
      lines.push(`${addrKeyword(family)} ${direction === 'egress' ? 'saddr' : 'daddr'} vmap @${name}`);
    }
    baseChains.push({ name: kernelName(prefix, 'fw', direction), hook: HOOKS[direction], comment: nftComment(`knp ${direction}`), rules: lines });
  }
  return { table: prefix, sets: [...sets, ...portSets.values(), ...maps], chains: [...ruleChains, ...tierChains.chains, ...listChains.values(), ...podChains, ...baseChains] };
}

function ruleChainName(prefix: string, rule: Rule): string {
  return kernelName(prefix, rule.direction === 'ingress' ? 'in' : 'eg', rule.id);
}

function planSet(prefix: string, set: AddressSet, families: readonly Family[], where: string): { family: Family; set: NftSetPlan }[] {
  const name = (family: Family): string => kernelName(prefix, 'as', `${set.id}/v${family}`);
  switch (set.kind) {
    case 'pods':
    case 'nodes': {
      const ips = set.ips.map((ip, i) => canonicalIp(ip, `${where}.ips[${i}]`));
      return families.map((family) => ({
        family,
        set: { name: name(family), type: addrType(family), map: false, interval: false, role: 'pods', elements: sortedUnique(ips.filter((ip) => ip.family === family)) },
      }));
    }
    case 'cidr': {
      const cidr = mustParseCidr(set.cidr, `${where}.cidr`);
      const except = set.except.map((e, i) => mustParseCidr(e, `${where}.except[${i}]`));
      for (const [i, e] of except.entries())
        if (e.family !== cidr.family) throw new RenderError(`${where}.except[${i}]: ${JSON.stringify(set.except[i])} is not of the family of ${set.cidr}`);
      const ranges = subtractCidrs(cidr, except);
      return [{ family: cidr.family, set: { name: name(cidr.family), type: addrType(cidr.family), map: false, interval: true, role: 'cidr', elements: ranges.map(printRange) } }];
    }
    case 'pod-ports': {
      const entries = set.entries.map((e, i) => ({
        ip: canonicalIp(e.ip, `${where}.entries[${i}].ip`),
        proto: protoKeyword(e.protocol),
        port: mustPort(e.port, `${where}.entries[${i}].port`),
      }));
      return families.map((family) => ({
        family,
        set: {
          name: name(family),
          type: `${addrType(family)} . inet_proto . inet_service`,
          map: false,
          interval: false,
          role: 'pod-ports',
          elements: [...new Set(entries.filter((e) => e.ip.family === family).map((e) => `${e.ip.text} . ${e.proto} . ${e.port}`))].sort(),
        },
      }));
    }
    default:
      return assertNever(set);
  }
}

type DispatchEntry = { readonly ip: CanonicalIp; readonly chain: string };

/**
 * The dispatch chains of one direction: for each local pod IP that is isolated or under a tier, a chain
 * deciding its traffic. Without tiers (exactly as before them): jump to each of the pod's rule chains (a
 * match accepts), then drop. With tiers: jump to the admin list chain (Accept accepts, Deny drops, Pass
 * or no match returns here), then the NetworkPolicy part when isolated (rule chains, then drop), else
 * jump to the baseline list chain (no match returns here, and the base chain's policy accepts).
 * Pods with the same decision (replicas selected by the same policies) share one chain, so the rule
 * count grows with distinct decisions, not pods.
 */
function planDispatch(
  prefix: string,
  direction: Direction,
  ruleSet: RuleSetContent,
  rules: ReadonlyMap<string, Rule>,
  tiers: ReadonlyMap<string, IndexedTierRule>,
  tierChains: TierChains,
  lists: Map<string, NftChainPlan>,
): { chains: NftChainPlan[]; entries: DispatchEntry[] } {
  const chains = new Map<string, NftChainPlan>();
  const entries: DispatchEntry[] = [];
  for (const group of decisionGroups(ruleSet.pods, direction, rules, tiers)) {
    const npPart = group.isolated
      ? [...group.ruleIds.map((id) => `jump ${ruleChainName(prefix, rules.get(id)!)}`), `drop ${nftComment(`${direction} isolated by ${group.policies.join(' ')}`)}`]
      : [];
    let name: string;
    if (!hasTiers(group)) {
      name = kernelName(prefix, 'pod', `${direction}/${group.ruleIds.join(',')}`);
      if (!chains.has(name)) chains.set(name, { name, rules: npPart });
    } else {
      const admin = group.admin.length > 0 ? [`jump ${tierListChain(prefix, direction, 'admin', group.admin, tierChains, lists)}`] : [];
      // an isolated pod's NetworkPolicy part ends in drop: its baseline tier is never reached
      const baseline = !group.isolated && group.baseline.length > 0 ? [`jump ${tierListChain(prefix, direction, 'baseline', group.baseline, tierChains, lists)}`] : [];
      const identity = JSON.stringify([direction, group.isolated, group.ruleIds, group.admin, group.baseline]);
      name = kernelName(prefix, 'pod', `tiered:${identity}`);
      if (!chains.has(name)) chains.set(name, { name, rules: [...admin, ...npPart, ...baseline] });
    }
    for (const ip of group.ips) entries.push({ ip, chain: name });
  }
  entries.sort((a, b) => a.ip.family - b.ip.family || (a.ip.key < b.ip.key ? -1 : a.ip.key > b.ip.key ? 1 : 0));
  return { chains: [...chains.values()], entries };
}

function printRange(range: IpRange): string {
  const first = formatIp({ family: range.family, value: range.first });
  return range.first === range.last ? first : `${first}-${formatIp({ family: range.family, value: range.last })}`;
}

