import {
  assertNever,
  formatIp,
  isValidPrefix,
  kernelName,
  type AddressSet,
  type Direction,
  type Family,
  type Rule,
  type RuleSetContent,
  type TierAction,
} from '@knp/shared';
import { decisionGroups, indexTierRules, type DecisionGroup, type IndexedTierRule } from '../common/tiers.js';
import { ipsetNetEntries, printNetEntry } from './ipset-entries.js';
import { iptTermMatches, type IpsetNames } from './terms.js';
import { RenderError, canonicalIp, familiesOf, mustParseCidr, mustParseIp, mustPort, protoKeyword, sortedUnique, type RenderOptions } from '../common/text.js';

/** One ipset: its kernel name, `create` type and family, and its entries as `ipset restore` takes them. */
export type IpsetPlan = {
  readonly name: string;
  readonly type: 'hash:ip' | 'hash:net' | 'hash:ip,port';
  readonly family: Family;
  /** What the set holds, so a delta knows which entry changes are cheap (pod IPs and pod ports). */
  readonly role: AddressSet['kind'];
  readonly entries: readonly string[];
};
/** One chain we own and its rules, each as the text after `-A <chain> `. */
export type IptChainPlan = { readonly name: string; readonly rules: readonly string[] };
/** The chains of one family (iptables or ip6tables); `top` is the one FORWARD jumps to. */
export type IptFamilyPlan = { readonly family: Family; readonly top: string; readonly chains: readonly IptChainPlan[] };
export type IptPlan = {
  readonly prefix: string;
  readonly sets: readonly IpsetPlan[];
  /** Always both families: a family the rule set does not use gets the (empty) top chains only. */
  readonly tables: Readonly<Record<Family, IptFamilyPlan>>;
  /** The families the rule set uses: only these are loaded; the other one's chains are removed. */
  readonly families: readonly Family[];
};

/** ipset's default cap is 65,536 entries; a cluster-wide pod selector can hold more. Creation parameters must not vary between loads (`create -exist` compares them). */
export const IPSET_MAXELEM = 1_048_576;

const FAMILIES: readonly Family[] = [4, 6];

/**
 * The iptables + ipset rendering of one node's rule set. Pure; throws RenderError for a malformed rule set.
 *
 * Chain layout (per family), entered by one jump at the top of FORWARD:
 * ```
 * TOP:  ctstate RELATED,ESTABLISHED -> RETURN;  -j EG;  -j IN
 * EG:   -s <isolated pod ip> -g POD-<rule list>     (one line per isolated or tiered pod IP)
 * IN:   -d <isolated pod ip> -g POD-<rule list>
 * POD:  <each term of each rule of the list> -> RETURN;  DROP
 * ```
 * A pod under ClusterNetworkPolicy tiers goes (`-g`) to its admin chain first, which continues (`-g`)
 * into POD or its baseline chain (see `firstChain`); a pod without tier rules is dispatched as above.
 * Only DROP is final. An allow is a RETURN: `-g` made POD replace EG's frame, so its RETURN lands back in
 * TOP, which goes on with the ingress check; a packet both directions allow leaves TOP and FORWARD's own
 * rules (other components) still decide, as nft's per-table accept does. No packet mark is touched.
 * The terms of a rule are inlined in the dispatch chain of each distinct rule list (iptables cannot
 * return two levels from a shared per-rule chain without a mark), so the rule count grows with distinct
 * rule lists x their rules, shared by every pod with that list, never with pods x peers.
 */
export function planIptables(ruleSet: RuleSetContent, options: RenderOptions): IptPlan {
  const { prefix } = options;
  if (!isValidPrefix(prefix)) throw new RenderError(`prefix ${JSON.stringify(prefix)} must be 1-8 of a-z0-9, starting with a letter`);
  const families = familiesOf(ruleSet);
  const sets: IpsetPlan[] = [];
  const names = new Map<string, IpsetNames>();
  for (const [i, set] of ruleSet.sets.entries()) {
    if (names.has(set.id)) throw new RenderError(`sets[${i}]: duplicate set id ${JSON.stringify(set.id)}`);
    const planned = planSet(prefix, set, families, `sets[${i}]`);
    names.set(set.id, { kind: set.kind, byFamily: new Map(planned.map((p) => [p.family, p.name])) });
    sets.push(...planned);
  }
  const rules = new Map<string, { rule: Rule; where: string }>();
  for (const [i, rule] of ruleSet.rules.entries()) {
    if (rules.has(rule.id)) throw new RenderError(`rules[${i}]: duplicate rule id ${JSON.stringify(rule.id)}`);
    rules.set(rule.id, { rule, where: `rules[${i}]` });
  }
  // validate every term once, in both families, so a bad rule fails even when no pod uses it
  for (const { rule, where } of rules.values())
    for (const family of FAMILIES) rule.terms.forEach((term, t) => iptTermMatches(term, rule.direction, family, names, `${where}.terms[${t}]`));
  const tiers = indexTierRules(ruleSet);
  for (const { rule, where } of tiers.values())
    for (const family of FAMILIES) rule.terms.forEach((term, t) => iptTermMatches(term, rule.direction, family, names, `${where}.terms[${t}]`));
  const plain = new Map([...rules].map(([id, { rule }]) => [id, rule]));
  const groups = { egress: decisionGroups(ruleSet.pods, 'egress', plain, tiers), ingress: decisionGroups(ruleSet.pods, 'ingress', plain, tiers) };
  const ctx: FamilyContext = { prefix, rules, tiers, names };
  const tables = Object.fromEntries(FAMILIES.map((family) => [family, planFamily(ctx, family, groups)])) as Record<Family, IptFamilyPlan>;
  return { prefix, sets, tables, families };
}

/** Chain names: `kernelName` uppercased, so they never collide with another component's (KUBE-, cali-) and fit iptables' 28. */
export const iptChainName = (prefix: string, role: 'fw' | 'eg' | 'in' | 'pod', identity: string): string => kernelName(prefix, role, identity).toUpperCase();
/** The chain FORWARD jumps to: fixed per prefix, so a reload finds and replaces the jump. */
export const iptTopChain = (prefix: string): string => iptChainName(prefix, 'fw', 'iptables/forward');

type FamilyContext = {
  readonly prefix: string;
  readonly rules: ReadonlyMap<string, { rule: Rule; where: string }>;
  readonly tiers: ReadonlyMap<string, IndexedTierRule>;
  readonly names: ReadonlyMap<string, IpsetNames>;
};

function planFamily(ctx: FamilyContext, family: Family, groups: Record<Direction, readonly DecisionGroup[]>): IptFamilyPlan {
  const { prefix } = ctx;
  const top = iptTopChain(prefix);
  const dispatch: Record<Direction, string> = { egress: iptChainName(prefix, 'eg', 'iptables/dispatch'), ingress: iptChainName(prefix, 'in', 'iptables/dispatch') };
  const podChains = new Map<string, IptChainPlan>();
  const dispatchRules: Record<Direction, string[]> = { egress: [], ingress: [] };
  for (const direction of ['egress', 'ingress'] as const) {
    for (const group of groups[direction]) {
      const ips = group.ips.filter((ip) => ip.family === family);
      if (ips.length === 0) continue;
      const name = firstChain(ctx, family, direction, group, podChains);
      const flag = direction === 'egress' ? '-s' : '-d';
      if (name !== undefined) for (const ip of ips) dispatchRules[direction].push(`${flag} ${ip.text}/${family === 4 ? 32 : 128} -g ${name}`);
    }
  }
  const topRules = ['-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', `-j ${dispatch.egress}`, `-j ${dispatch.ingress}`];
  return {
    family,
    top,
    chains: [
      { name: top, rules: topRules },
      { name: dispatch.egress, rules: dispatchRules.egress },
      { name: dispatch.ingress, rules: dispatchRules.ingress },
      ...[...podChains.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    ],
  };
}

/**
 * The chain a group's dispatch line goes to (`-g`), creating it and the chains it continues into.
 * Everything after the dispatch line is entered with `-g`, so each RETURN lands in TOP (this direction
 * allows) and DROP is final, however deep the packet got:
 * ```
 * ADMIN:    admin terms in order: Accept -> RETURN, Deny -> DROP, Pass -> -g NEXT;  then -g NEXT
 * NP:       (isolated) each NetworkPolicy term -> RETURN;  DROP          (exactly the chain before tiers)
 * BASELINE: baseline terms in order: Accept or Pass -> RETURN, Deny -> DROP;  then falls off: RETURN
 * ```
 * NEXT is NP when isolated, else BASELINE (when any), else none (Pass is then RETURN). Each chain is
 * named by what it holds and what it continues into, and shared by every group with the same.
 */
function firstChain(ctx: FamilyContext, family: Family, direction: Direction, group: DecisionGroup, chains: Map<string, IptChainPlan>): string | undefined {
  const { prefix } = ctx;
  const add = (name: string, rules: () => string[]): string => {
    if (!chains.has(name)) chains.set(name, { name, rules: rules() });
    return name;
  };
  const tierLines = (id: string, verdict: (action: TierAction) => string): string[] => {
    const { rule, where } = ctx.tiers.get(id)!;
    const target = verdict(rule.action);
    return rule.terms.flatMap((term, t) => iptTermMatches(term, direction, family, ctx.names, `${where}.terms[${t}]`)).map((m) => (m === '' ? target : `${m} ${target}`));
  };
  const np = !group.isolated
    ? undefined
    : add(iptChainName(prefix, 'pod', `${direction}/${group.ruleIds.join(',')}`), () => {
        const lines = group.ruleIds.flatMap((id) => {
          const { rule, where } = ctx.rules.get(id)!;
          return rule.terms.flatMap((term, t) => iptTermMatches(term, direction, family, ctx.names, `${where}.terms[${t}]`));
        });
        return [...lines.map((m) => (m === '' ? '-j RETURN' : `${m} -j RETURN`)), '-j DROP'];
      });
  const baseline = group.isolated || group.baseline.length === 0
    ? undefined
    : add(iptChainName(prefix, 'pod', `tier:${direction}:baseline:${group.baseline.join(',')}`), () =>
        group.baseline.flatMap((id) => tierLines(id, (action) => (action === 'Deny' ? '-j DROP' : '-j RETURN'))));
  const next = np ?? baseline;
  const admin = group.admin.length === 0
    ? undefined
    : add(iptChainName(prefix, 'pod', `tier:${direction}:admin:${group.admin.join(',')}:then:${next ?? ''}`), () => {
        const lines = group.admin.flatMap((id) => tierLines(id, (action) => (action === 'Accept' ? '-j RETURN' : action === 'Deny' ? '-j DROP' : next ? `-g ${next}` : '-j RETURN')));
        // after a match-all rule (a fail-closed Deny, say) nothing is reached: no dead tail
        const decided = lines.length > 0 && /^-[jg] /.test(lines[lines.length - 1]!);
        return next && !decided ? [...lines, `-g ${next}`] : lines;
      });
  return admin ?? next;
}

function planSet(prefix: string, set: AddressSet, families: readonly Family[], where: string): IpsetPlan[] {
  // the kind is part of the identity: `ipset swap` needs both sets of one type
  const name = (family: Family): string => kernelName(prefix, 'as', `ipset/${set.kind}/${set.id}/v${family}`);
  switch (set.kind) {
    case 'pods':
    case 'nodes': {
      const ips = set.ips.map((ip, i) => canonicalIp(ip, `${where}.ips[${i}]`));
      return families.map((family) => ({ name: name(family), type: 'hash:ip', family, role: 'pods', entries: sortedUnique(ips.filter((ip) => ip.family === family)) }));
    }
    case 'cidr': {
      const cidr = mustParseCidr(set.cidr, `${where}.cidr`);
      const except = set.except.map((e, i) => mustParseCidr(e, `${where}.except[${i}]`));
      for (const [i, e] of except.entries())
        if (e.family !== cidr.family) throw new RenderError(`${where}.except[${i}]: ${JSON.stringify(set.except[i])} is not of the family of ${set.cidr}`);
      return [{ name: name(cidr.family), type: 'hash:net', family: cidr.family, role: 'cidr', entries: ipsetNetEntries(cidr, except).map(printNetEntry) }];
    }
    case 'pod-ports': {
      const entries = set.entries.map((e, i) => {
        const ip = mustParseIp(e.ip, `${where}.entries[${i}].ip`);
        return { family: ip.family, text: `${formatIp(ip)},${protoKeyword(e.protocol)}:${mustPort(e.port, `${where}.entries[${i}].port`)}` };
      });
      return families.map((family) => ({
        name: name(family),
        type: 'hash:ip,port',
        family,
        role: 'pod-ports',
        entries: [...new Set(entries.filter((e) => e.family === family).map((e) => e.text))].sort(),
      }));
    }
    default:
      return assertNever(set);
  }
}

