import {
  assertNever,
  formatIp,
  isValidPrefix,
  kernelName,
  type AddressSet,
  type Direction,
  type Family,
  type LocalPod,
  type Rule,
  type RuleSetContent,
} from '@knp/shared';
import { ipsetNetEntries, printNetEntry } from './ipset-entries.js';
import { iptTermMatches, type IpsetNames } from './terms.js';
import { RenderError, canonicalIp, familiesOf, mustParseCidr, mustParseIp, mustPort, protoKeyword, sortedUnique, type CanonicalIp, type RenderOptions } from '../common/text.js';

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
 * EG:   -s <isolated pod ip> -g POD-<rule list>     (one line per isolated pod IP)
 * IN:   -d <isolated pod ip> -g POD-<rule list>
 * POD:  <each term of each rule of the list> -> RETURN;  DROP
 * ```
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
  const groups = { egress: dispatchGroups(ruleSet.pods, 'egress', rules), ingress: dispatchGroups(ruleSet.pods, 'ingress', rules) };
  const tables = Object.fromEntries(FAMILIES.map((family) => [family, planFamily(prefix, family, groups, rules, names)])) as Record<Family, IptFamilyPlan>;
  return { prefix, sets, tables, families };
}

/** Chain names: `kernelName` uppercased, so they never collide with another component's (KUBE-, cali-) and fit iptables' 28. */
export const iptChainName = (prefix: string, role: 'fw' | 'eg' | 'in' | 'pod', identity: string): string => kernelName(prefix, role, identity).toUpperCase();
/** The chain FORWARD jumps to: fixed per prefix, so a reload finds and replaces the jump. */
export const iptTopChain = (prefix: string): string => iptChainName(prefix, 'fw', 'iptables/forward');

type Group = { readonly ips: readonly { family: Family; text: string; key: bigint }[]; readonly ruleIds: readonly string[] };

function planFamily(
  prefix: string,
  family: Family,
  groups: Record<Direction, readonly Group[]>,
  rules: ReadonlyMap<string, { rule: Rule; where: string }>,
  names: ReadonlyMap<string, IpsetNames>,
): IptFamilyPlan {
  const top = iptTopChain(prefix);
  const dispatch: Record<Direction, string> = { egress: iptChainName(prefix, 'eg', 'iptables/dispatch'), ingress: iptChainName(prefix, 'in', 'iptables/dispatch') };
  const podChains = new Map<string, IptChainPlan>();
  const dispatchRules: Record<Direction, string[]> = { egress: [], ingress: [] };
  for (const direction of ['egress', 'ingress'] as const) {
    for (const group of groups[direction]) {
      const ips = group.ips.filter((ip) => ip.family === family);
      if (ips.length === 0) continue;
      const name = iptChainName(prefix, 'pod', `${direction}/${group.ruleIds.join(',')}`);
      if (!podChains.has(name)) {
        const lines = group.ruleIds.flatMap((id) => {
          const { rule, where } = rules.get(id)!;
          return rule.terms.flatMap((term, t) => iptTermMatches(term, direction, family, names, `${where}.terms[${t}]`));
        });
        podChains.set(name, { name, rules: [...lines.map((m) => (m === '' ? '-j RETURN' : `${m} -j RETURN`)), '-j DROP'] });
      }
      const flag = direction === 'egress' ? '-s' : '-d';
      for (const ip of ips) dispatchRules[direction].push(`${flag} ${ip.text}/${family === 4 ? 32 : 128} -g ${name}`);
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
 * Isolated local pod IPs of one direction, grouped by their sorted rule list. Pods are grouped by IP first,
 * so two pods claiming one address never yield two dispatch lines: that address allows what any of them allows.
 */
function dispatchGroups(pods: readonly LocalPod[], direction: Direction, rules: ReadonlyMap<string, { rule: Rule }>): Group[] {
  const byIp = new Map<string, { ip: CanonicalIp; ruleIds: Set<string> }>();
  for (const [i, pod] of pods.entries()) {
    const dir = pod[direction];
    for (const [r, id] of dir.rules.entries()) {
      const found = rules.get(id);
      if (!found) throw new RenderError(`pods[${i}].${direction}.rules[${r}]: unknown rule ${JSON.stringify(id)}`);
      if (found.rule.direction !== direction) throw new RenderError(`pods[${i}].${direction}.rules[${r}]: rule ${JSON.stringify(id)} is an ${found.rule.direction} rule`);
    }
    if (!dir.isolated) continue;
    for (const [j, text] of pod.ips.entries()) {
      const ip = canonicalIp(text, `pods[${i}].ips[${j}]`);
      const key = `${ip.family}/${ip.key}`;
      const entry = byIp.get(key) ?? { ip, ruleIds: new Set<string>() };
      dir.rules.forEach((id) => entry.ruleIds.add(id));
      byIp.set(key, entry);
    }
  }
  const groups = new Map<string, { ips: CanonicalIp[]; ruleIds: string[] }>();
  for (const { ip, ruleIds } of byIp.values()) {
    const sorted = [...ruleIds].sort();
    const key = sorted.join('\n');
    const group = groups.get(key) ?? { ips: [], ruleIds: sorted };
    group.ips.push(ip);
    groups.set(key, group);
  }
  const byIpOrder = (a: CanonicalIp, b: CanonicalIp): number => a.family - b.family || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return [...groups.values()]
    .map((g) => ({ ruleIds: g.ruleIds, ips: g.ips.sort(byIpOrder) }))
    .sort((a, b) => byIpOrder(a.ips[0]!, b.ips[0]!));
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

