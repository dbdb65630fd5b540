import { assertNever, PROTOCOLS, type AddressSet, type Direction, type Family, type PortMatch, type Term } from '@knp/shared';
import { addrKeyword } from './text.js';
import { RenderError, portItems } from '../common/text.js';

/** The nft sets an IR address set became: one per family it may hold. */
export type SetNames = { readonly kind: AddressSet['kind']; readonly byFamily: ReadonlyMap<Family, string> };

export type NftVerdict = 'accept' | 'drop' | 'return';

export type TermContext = {
  readonly sets: ReadonlyMap<string, SetNames>;
  /** The name of a named port set holding `items` (created once per distinct list and shared). */
  readonly portSet: (items: readonly string[]) => string;
};

/**
 * The nft rules of one term: each rule ends in `verdict`; `accept` (NetworkPolicy rules, tier Accept) in
 * our per-direction base chain means "this direction allows the packet", `drop` is final, `return` leaves
 * a tier chain (Pass). The peer is the source for ingress and the destination for egress. A term with an
 * empty peer or port list matches nothing and renders no rule; peers and ports 'any' is a bare verdict.
 */
export function renderTerm(term: Term, direction: Direction, ctx: TermContext, where: string, verdict: NftVerdict = 'accept'): string[] {
  const field = direction === 'ingress' ? 'saddr' : 'daddr';
  switch (term.kind) {
    case 'peers': {
      const peers = term.peers === 'any' ? [''] : term.peers.flatMap((id, i) => peerMatches(id, ctx.sets, field, `${where}.peers[${i}]`));
      const ports = term.ports === 'any' ? [''] : portMatches(term.ports, ctx, `${where}.ports`);
      return peers.flatMap((peer) => ports.map((port) => [peer, port, verdict].filter(Boolean).join(' ')));
    }
    case 'peer-ports': {
      const set = ctx.sets.get(term.set);
      if (!set) throw new RenderError(`${where}.set: unknown set ${JSON.stringify(term.set)}`);
      if (set.kind !== 'pod-ports') throw new RenderError(`${where}.set: set ${JSON.stringify(term.set)} is a ${set.kind} set, not pod-ports`);
      return [...set.byFamily].map(([family, name]) => `${addrKeyword(family)} ${field} . meta l4proto . th dport @${name} ${verdict}`);
    }
    default:
      return assertNever(term);
  }
}

function peerMatches(id: string, sets: ReadonlyMap<string, SetNames>, field: string, where: string): string[] {
  const set = sets.get(id);
  if (!set) throw new RenderError(`${where}: unknown set ${JSON.stringify(id)}`);
  if (set.kind === 'pod-ports') throw new RenderError(`${where}: set ${JSON.stringify(id)} is a pod-ports set, usable only in a peer-ports term`);
  return [...set.byFamily].map(([family, name]) => `${addrKeyword(family)} ${field} @${name}`);
}

/**
 * One match per protocol present, in a fixed protocol order: `meta l4proto tcp` (all ports), `tcp dport 80`,
 * `tcp dport 1000-2000`, or `tcp dport @<port set>` for several. Never an anonymous set: each one is a
 * kernel set of its own, and a thousand of them made loads and every later nft command several times slower.
 */
function portMatches(ports: readonly PortMatch[], ctx: TermContext, where: string): string[] {
  for (const [i, p] of ports.entries())
    if (!PROTOCOLS.includes(p.protocol)) throw new RenderError(`${where}[${i}].protocol: ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`);
  return PROTOCOLS.flatMap((protocol) => {
    const mine = ports.filter((p) => p.protocol === protocol);
    if (mine.length === 0) return [];
    const { proto, all, items } = portItems(protocol, mine, `${where}(${protocol})`);
    if (all) return [`meta l4proto ${proto}`];
    return [`${proto} dport ${items.length === 1 ? items[0] : `@${ctx.portSet(items)}`}`];
  });
}
