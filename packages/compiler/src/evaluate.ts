import {
  cidrContainsIp, parseCidr, parseIp,
  type AddressSet, type Direction, type LocalPod, type PortMatch, type Protocol, type Rule, type RuleOrigin, type RuleSet, type Term, type Tier, type TierAction, type TierRule,
} from '@knp/shared';

/*
 * Evaluates a packet against a compiled rule set, the same way the kernel rules rendered from it do.
 * This reads only the IR, so explain answers test the compiler, not a second reading of the policies.
 */

export type Packet = { readonly peerIp: string; readonly protocol: Protocol; readonly port: number };

/**
 * The step that decided a direction: a ClusterNetworkPolicy rule of the admin or baseline tier (its policy,
 * priority, rule index and action), NetworkPolicy (the pod is isolated; `allowedBy` says which rules allow),
 * or the default (nothing isolates the pod and no tier rule decided: allowed).
 */
export type Decision =
  | { readonly tier: Tier; readonly policy: string; readonly priority: number; readonly rule: number; readonly action: Exclude<TierAction, 'Pass'> }
  | { readonly tier: 'networkpolicy' }
  | { readonly tier: 'default' };

export type SideVerdict = {
  readonly allowed: boolean;
  readonly decidedBy: Decision;
  /** Tier rules whose Pass sent the packet on to the next step, in evaluation order (absent: none). */
  readonly passedBy?: readonly { readonly policy: string; readonly tier: Tier; readonly priority: number; readonly rule: number }[];
  readonly isolated: boolean;
  /** Policies isolating this direction of the pod. */
  readonly policies: readonly string[];
  /** Policy rules that allow the packet (empty when not isolated or denied). */
  readonly allowedBy: readonly RuleOrigin[];
};

type Index = { rules: Map<string, Rule>; tierRules: Map<string, TierRule>; sets: Map<string, { set: AddressSet; members: Set<string> }> };
const indexMemo = new WeakMap<RuleSet, Index>();

function indexOf(ruleSet: RuleSet): Index {
  let index = indexMemo.get(ruleSet);
  if (!index) {
    const members = (set: AddressSet): Set<string> =>
      new Set(set.kind === 'pods' || set.kind === 'nodes' ? set.ips : set.kind === 'pod-ports' ? set.entries.map((e) => `${e.ip}|${e.protocol}|${e.port}`) : []);
    index = {
      rules: new Map(ruleSet.rules.map((r) => [r.id, r])),
      tierRules: new Map((ruleSet.tierRules ?? []).map((r) => [r.id, r])),
      sets: new Map(ruleSet.sets.map((s) => [s.id, { set: s, members: members(s) }])),
    };
    indexMemo.set(ruleSet, index);
  }
  return index;
}

/**
 * The verdict of one direction of a local pod for a packet (peer = source for ingress, destination for
 * egress), in the kernel's order: the admin tier rules (the first that matches decides; Pass leaves the
 * tier), then NetworkPolicy when a policy isolates the pod, then the baseline tier rules, else allowed.
 */
export function evaluate(ruleSet: RuleSet, pod: LocalPod, direction: Direction, packet: Packet): SideVerdict {
  const side = pod[direction];
  const index = indexOf(ruleSet);
  const passedBy: TierRule['origin'][] = [];
  const withPassed = (): Pick<SideVerdict, 'passedBy'> => (passedBy.length > 0 ? { passedBy: [...passedBy] } : {});
  const common = { isolated: side.isolated, policies: side.isolated ? side.policies : [] };
  const tier = (ids: readonly string[] | undefined): SideVerdict | undefined => {
    for (const id of ids ?? []) {
      const rule = index.tierRules.get(id);
      if (!rule || !rule.terms.some((t) => termMatches(index, t, packet))) continue;
      if (rule.action === 'Pass') return void passedBy.push(rule.origin); // spec: Pass skips the rest of its tier
      const { policy, tier, priority, rule: at } = rule.origin;
      return { allowed: rule.action === 'Accept', decidedBy: { tier, policy, priority, rule: at, action: rule.action }, ...common, allowedBy: [], ...withPassed() };
    }
    return undefined;
  };
  const admin = tier(side.admin);
  if (admin) return admin;
  if (side.isolated) {
    const allowedBy = side.rules
      .map((id) => index.rules.get(id))
      .filter((rule): rule is Rule => rule !== undefined && rule.terms.some((t) => termMatches(index, t, packet)))
      .flatMap((rule) => rule.origins);
    return { allowed: allowedBy.length > 0, decidedBy: { tier: 'networkpolicy' }, ...common, allowedBy, ...withPassed() };
  }
  return tier(side.baseline) ?? { allowed: true, decidedBy: { tier: 'default' }, ...common, allowedBy: [], ...withPassed() };
}

function termMatches(index: Index, term: Term, packet: Packet): boolean {
  if (term.kind === 'peer-ports') return index.sets.get(term.set)?.members.has(`${packet.peerIp}|${packet.protocol}|${packet.port}`) ?? false;
  const peerOk = term.peers === 'any' || term.peers.some((id) => setContains(index, id, packet.peerIp));
  return peerOk && (term.ports === 'any' || term.ports.some((p) => portMatches(p, packet)));
}

function setContains(index: Index, id: string, ip: string): boolean {
  const entry = index.sets.get(id);
  if (!entry) return false;
  if (entry.set.kind === 'pods' || entry.set.kind === 'nodes') return entry.members.has(ip);
  if (entry.set.kind !== 'cidr') return false;
  const addr = parseIp(ip);
  const cidr = parseCidr(entry.set.cidr);
  if (!addr || !cidr || !cidrContainsIp(cidr, addr)) return false;
  return !entry.set.except.some((text) => {
    const e = parseCidr(text);
    return e !== undefined && cidrContainsIp(e, addr);
  });
}

export function portMatches(match: PortMatch, packet: Pick<Packet, 'protocol' | 'port'>): boolean {
  if (match.protocol !== packet.protocol) return false;
  if (match.port === undefined) return true;
  return packet.port >= match.port && packet.port <= (match.endPort ?? match.port);
}
