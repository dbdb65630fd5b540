import { cidrContainsIp, parseCidr, parseIp, type AddressSet, type Direction, type LocalPod, type PortMatch, type Protocol, type Rule, type RuleOrigin, type RuleSet, type Term } from '@knp/shared';

/*
 * Evaluates a packet against a compiled rule set, the same way the kernel rules rendered from it do.
 * This reads only the IR, so explain answers test the compiler, not a second reading of the policies.
 */

export type Packet = { readonly peerIp: string; readonly protocol: Protocol; readonly port: number };

export type SideVerdict = {
  readonly allowed: boolean;
  readonly isolated: boolean;
  /** Policies isolating this direction of the pod. */
  readonly policies: readonly string[];
  /** Policy rules that allow the packet (empty when not isolated or denied). */
  readonly allowedBy: readonly RuleOrigin[];
};

type Index = { rules: Map<string, Rule>; sets: Map<string, { set: AddressSet; members: Set<string> }> };
const indexMemo = new WeakMap<RuleSet, Index>();

function indexOf(ruleSet: RuleSet): Index {
  let index = indexMemo.get(ruleSet);
  if (!index) {
    const members = (set: AddressSet): Set<string> =>
      new Set(set.kind === 'pods' ? set.ips : set.kind === 'pod-ports' ? set.entries.map((e) => `${e.ip}|${e.protocol}|${e.port}`) : []);
    index = {
      rules: new Map(ruleSet.rules.map((r) => [r.id, r])),
      sets: new Map(ruleSet.sets.map((s) => [s.id, { set: s, members: members(s) }])),
    };
    indexMemo.set(ruleSet, index);
  }
  return index;
}

/** The verdict of one direction of a local pod for a packet (peer = source for ingress, destination for egress). */
export function evaluate(ruleSet: RuleSet, pod: LocalPod, direction: Direction, packet: Packet): SideVerdict {
  const side = pod[direction];
  if (!side.isolated) return { allowed: true, isolated: false, policies: [], allowedBy: [] };
  const index = indexOf(ruleSet);
  const allowedBy = side.rules
    .map((id) => index.rules.get(id))
    .filter((rule): rule is Rule => rule !== undefined && rule.terms.some((t) => termMatches(index, t, packet)))
    .flatMap((rule) => rule.origins);
  return { allowed: allowedBy.length > 0, isolated: true, policies: side.policies, allowedBy };
}

function termMatches(index: Index, term: Term, packet: Packet): boolean {
  if (term.kind === 'peer-ports') return index.sets.get(term.set)?.members.has(`${packet.peerIp}|${packet.protocol}|${packet.port}`) ?? false;
  const peerOk = term.peers === 'any' || term.peers.some((id) => setContains(index, id, packet.peerIp));
  return peerOk && (term.ports === 'any' || term.ports.some((p) => portMatches(p, packet)));
}

function setContains(index: Index, id: string, ip: string): boolean {
  const entry = index.sets.get(id);
  if (!entry) return false;
  if (entry.set.kind === 'pods') return entry.members.has(ip);
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
