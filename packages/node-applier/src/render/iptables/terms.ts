import { assertNever, PROTOCOLS, type AddressSet, type Direction, type Family, type PortMatch, type Term } from '@knp/shared';
import { RenderError, portItems } from '../common/text.js';

/** The ipsets an IR address set became: one per family it may hold. */
export type IpsetNames = { readonly kind: AddressSet['kind']; readonly byFamily: ReadonlyMap<Family, string> };

/** multiport takes at most 15 ports, a range counting as two. */
const MULTIPORT_SLOTS = 15;

/**
 * The iptables matches of one term in one family, each a rule that allows (the caller appends the verdict);
 * '' matches every packet. The peer is the source for ingress and the destination for egress. A term
 * whose peers have no set in this family (an IPv4 ipBlock seen from ip6tables) or whose peer or port
 * list is empty matches nothing and renders no rule.
 */
export function iptTermMatches(term: Term, direction: Direction, family: Family, sets: ReadonlyMap<string, IpsetNames>, where: string): string[] {
  const field = direction === 'ingress' ? 'src' : 'dst';
  switch (term.kind) {
    case 'peers': {
      const peers = term.peers === 'any' ? [''] : term.peers.flatMap((id, i) => peerMatch(id, sets, family, field, `${where}.peers[${i}]`));
      const ports = term.ports === 'any' ? [{ proto: '', rest: '' }] : portMatches(term.ports, `${where}.ports`);
      // iptables wants `-p` before the protocol's own options
      return peers.flatMap((peer) => ports.map((p) => [p.proto, peer, p.rest].filter(Boolean).join(' ')));
    }
    case 'peer-ports': {
      const set = sets.get(term.set);
      if (!set) throw new RenderError(`${where}.set: unknown set ${JSON.stringify(term.set)}`);
      if (set.kind !== 'pod-ports') throw new RenderError(`${where}.set: set ${JSON.stringify(term.set)} is a ${set.kind} set, not pod-ports`);
      const name = set.byFamily.get(family);
      // hash:ip,port: the address from the peer side, protocol and port from the destination port
      return name === undefined ? [] : [`-m set --match-set ${name} ${field},dst`];
    }
    default:
      return assertNever(term);
  }
}

function peerMatch(id: string, sets: ReadonlyMap<string, IpsetNames>, family: Family, field: string, where: string): string[] {
  const set = sets.get(id);
  if (!set) throw new RenderError(`${where}: unknown set ${JSON.stringify(id)}`);
  if (set.kind === 'pod-ports') throw new RenderError(`${where}: set ${JSON.stringify(id)} is a pod-ports set, usable only in a peer-ports term`);
  const name = set.byFamily.get(family);
  return name === undefined ? [] : [`-m set --match-set ${name} ${field}`];
}

/** Per protocol present (fixed order): all ports, one port or range (`--dport`), or multiport chunks of 15 slots. */
function portMatches(ports: readonly PortMatch[], where: string): { proto: string; rest: string }[] {
  for (const [i, p] of ports.entries())
    if (!PROTOCOLS.includes(p.protocol)) throw new RenderError(`${where}[${i}].protocol: ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`);
  return PROTOCOLS.flatMap((protocol) => {
    const mine = ports.filter((p) => p.protocol === protocol);
    if (mine.length === 0) return [];
    const { proto, all, items } = portItems(protocol, mine, `${where}(${protocol})`);
    const p = `-p ${proto}`;
    if (all) return [{ proto: p, rest: '' }];
    const ranges = items.map((item) => item.replace('-', ':'));
    if (ranges.length === 1) return [{ proto: p, rest: `-m ${proto} --dport ${ranges[0]}` }];
    const chunks: string[][] = [];
    let slots = MULTIPORT_SLOTS;
    for (const r of ranges) {
      const cost = r.includes(':') ? 2 : 1;
      if (slots + cost > MULTIPORT_SLOTS) {
        chunks.push([]);
        slots = 0;
      }
      chunks[chunks.length - 1]!.push(r);
      slots += cost;
    }
    return chunks.map((chunk) => ({ proto: p, rest: `-m multiport --dports ${chunk.join(',')}` }));
  });
}
