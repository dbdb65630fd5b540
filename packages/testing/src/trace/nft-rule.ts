import type { Family } from '@knp/shared';
import { mustPort, mustRange, type Span } from './values.js';
import { TraceError, isL4Proto, type L4Proto } from './packet.js';

/** What ends or redirects evaluation: the statement at the end of a rule, or the value of a verdict map element. */
export type NftVerdict = { readonly kind: 'accept' | 'drop' | 'return' } | { readonly kind: 'jump' | 'goto'; readonly chain: string };

export type AddrField = 'saddr' | 'daddr';

/** The matches of our dialect. `ip`/`ip6` also match the family; `tcp dport` also matches the protocol. */
export type NftMatch =
  | { readonly kind: 'ct-state'; readonly states: readonly string[] }
  | { readonly kind: 'addr-in-set'; readonly family: Family; readonly field: AddrField; readonly set: string }
  /** `ip daddr . meta l4proto . th dport @set` */
  | { readonly kind: 'addr-proto-port-in-set'; readonly family: Family; readonly field: AddrField; readonly set: string }
  | { readonly kind: 'l4proto'; readonly proto: L4Proto }
  | { readonly kind: 'dport'; readonly proto: L4Proto; readonly ports: Span }
  | { readonly kind: 'dport-in-set'; readonly proto: L4Proto; readonly set: string }
  /** `icmpv6 type { nd-neighbor-solicit, ... }`: never a TCP, UDP or SCTP probe. */
  | { readonly kind: 'icmpv6-type'; readonly types: readonly string[] };

/** A rule ends in a verdict, or in a verdict map lookup (`ip saddr vmap @map`) that may find none. */
export type NftAction = { readonly kind: 'verdict'; readonly verdict: NftVerdict } | { readonly kind: 'vmap'; readonly family: Family; readonly field: AddrField; readonly map: string };

export type NftRule = { readonly text: string; readonly matches: readonly NftMatch[]; readonly action: NftAction };

export const NFT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const CT_STATES = ['new', 'established', 'related', 'invalid', 'untracked'];
/** A comment as our renderers print it (nftComment keeps only a safe alphabet); it may only end a rule. */
const COMMENT = / comment "[^"\\\n]*"$/;

/**
 * Parses one rule of our dialect: matches in any order, then exactly one verdict or verdict map, then an
 * optional comment. Anything else is an error, so a renderer change the tracer does not know fails loudly.
 */
export function parseNftRule(text: string, where: string): NftRule {
  const body = text.replace(COMMENT, '');
  if (body.includes('"')) throw new TraceError(`${where}: a comment may only end a rule: ${text}`);
  const tokens = body.split(' ');
  const matches: NftMatch[] = [];
  let i = 0;
  const take = (what: string): string => {
    const token = tokens[i++];
    if (token === undefined || token === '') throw new TraceError(`${where}: expected ${what} in: ${text}`);
    return token;
  };
  const expect = (...words: string[]): void => {
    for (const word of words) if (take(word) !== word) throw new TraceError(`${where}: expected "${word}" in: ${text}`);
  };
  const setRef = (): string => {
    const token = take('@set');
    if (!token.startsWith('@') || !NFT_NAME.test(token.slice(1))) throw new TraceError(`${where}: ${JSON.stringify(token)} is not a @set reference in: ${text}`);
    return token.slice(1);
  };
  while (i < tokens.length) {
    const token = take('a match or verdict');
    if (token === 'ct') {
      expect('state');
      const states = take('states').split(',');
      if (!states.every((s) => CT_STATES.includes(s))) throw new TraceError(`${where}: unknown ct state in: ${text}`);
      matches.push({ kind: 'ct-state', states });
    } else if (token === 'ip' || token === 'ip6') {
      const family: Family = token === 'ip' ? 4 : 6;
      const field = take('saddr or daddr');
      if (field !== 'saddr' && field !== 'daddr') throw new TraceError(`${where}: ${JSON.stringify(field)} is not saddr or daddr in: ${text}`);
      const next = tokens[i];
      if (next === 'vmap') {
        i++;
        const map = setRef();
        if (i !== tokens.length) throw new TraceError(`${where}: a verdict map must end the rule: ${text}`);
        return { text, matches, action: { kind: 'vmap', family, field, map } };
      }
      if (next === '.') {
        expect('.', 'meta', 'l4proto', '.', 'th', 'dport');
        matches.push({ kind: 'addr-proto-port-in-set', family, field, set: setRef() });
      } else matches.push({ kind: 'addr-in-set', family, field, set: setRef() });
    } else if (token === 'icmpv6') {
      expect('type', '{');
      const types: string[] = [];
      for (let t = take('an ICMPv6 type'); t !== '}'; t = take('an ICMPv6 type or }')) types.push(t.replace(/,$/, ''));
      if (types.length === 0 || !types.every((t) => /^[a-z-]+$/.test(t))) throw new TraceError(`${where}: not a list of ICMPv6 types in: ${text}`);
      matches.push({ kind: 'icmpv6-type', types });
    } else if (token === 'meta') {
      expect('l4proto');
      const proto = take('a protocol');
      if (!isL4Proto(proto)) throw new TraceError(`${where}: ${JSON.stringify(proto)} is not tcp, udp or sctp in: ${text}`);
      matches.push({ kind: 'l4proto', proto });
    } else if (isL4Proto(token)) {
      expect('dport');
      const value = take('a port, range or @set');
      if (value.startsWith('@')) {
        i--;
        matches.push({ kind: 'dport-in-set', proto: token, set: setRef() });
      } else matches.push({ kind: 'dport', proto: token, ports: mustRange(value, '-', (p) => BigInt(mustPort(p, where)), where) });
    } else {
      i--;
      const verdict = parseNftVerdict(tokens.slice(i), where);
      return { text, matches, action: { kind: 'verdict', verdict } };
    }
  }
  throw new TraceError(`${where}: no verdict in: ${text}`);
}

/** `accept`, `drop`, `return`, `jump <chain>` or `goto <chain>`, and nothing after it. */
export function parseNftVerdict(tokens: readonly string[], where: string): NftVerdict {
  const [word = '', chain, extra] = tokens;
  if ((word === 'accept' || word === 'drop' || word === 'return') && chain === undefined) return { kind: word };
  if ((word === 'jump' || word === 'goto') && chain !== undefined && NFT_NAME.test(chain) && extra === undefined) return { kind: word, chain };
  throw new TraceError(`${where}: ${JSON.stringify(tokens.join(' '))} is not a match or verdict of our dialect`);
}
