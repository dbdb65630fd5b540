import type { Family } from '@knp/shared';
import { TraceError, isL4Proto, type L4Proto } from './packet.js';
import { mustCidr, mustPort, mustRange, type Span } from './values.js';
import { IPSET_DIMENSIONS, type IpsetState } from './ipset.js';

export type IptTarget = { readonly kind: 'RETURN' | 'DROP' } | { readonly kind: 'jump' | 'goto'; readonly chain: string };
export type IptMatch =
  | { readonly kind: 'addr'; readonly field: 'src' | 'dst'; readonly span: Span }
  | { readonly kind: 'proto'; readonly proto: L4Proto }
  /** `-m tcp --dport` or `-m multiport --dports`: any of the ranges (the protocol is `-p`'s). */
  | { readonly kind: 'dport'; readonly ranges: readonly Span[] }
  | { readonly kind: 'set'; readonly set: string; readonly directions: readonly ('src' | 'dst')[] }
  | { readonly kind: 'ctstate'; readonly states: readonly string[] }
  /** `-p ipv6-icmp -m icmp6 --icmpv6-type <type>` (ip6tables only): never a TCP, UDP or SCTP probe. */
  | { readonly kind: 'icmpv6-type'; readonly type: string };
/** One rule: its spec as written (what `-D` compares), its matches, and its target. */
export type IptRule = { readonly spec: string; readonly matches: readonly IptMatch[]; readonly target: IptTarget };

/** iptables takes chain names of up to 28 characters. */
export const IPT_CHAIN = /^[A-Za-z0-9_-]{1,28}$/;
const CT_STATES = ['NEW', 'RELATED', 'ESTABLISHED', 'INVALID', 'UNTRACKED'];
/** multiport takes 15 ports, a range counting as two. */
const MULTIPORT_SLOTS = 15;

/**
 * Parses a rule spec of our dialect for one family: options in iptables' order (`-p` before the matches that
 * need it, each module's options right after its `-m`), ending in `-j` or `-g`. Sets must exist, be of the
 * family and be read in as many directions as they have dimensions, as iptables-restore requires.
 */
export function parseIptRule(spec: string, family: Family, ipsets: IpsetState, where: string): IptRule {
  const tokens = spec.split(' ');
  const matches: IptMatch[] = [];
  let i = 0, proto: L4Proto | undefined;
  const fail = (why: string): never => {
    throw new TraceError(`${where}: ${why} in: ${spec}`);
  };
  const take = (what: string): string => tokens[i++] || fail(`expected ${what}`);
  const portRange = (text: string): Span => mustRange(text, ':', (p) => BigInt(mustPort(p, where)), where);
  while (i < tokens.length) {
    const option = take('an option');
    if (option === '-s' || option === '-d') matches.push({ kind: 'addr', field: option === '-s' ? 'src' : 'dst', span: mustCidr(take('an address'), where, family).span });
    else if (option === '-p' && proto === undefined && tokens[i] === 'ipv6-icmp') {
      i++;
      if (family !== 6) fail('ipv6-icmp in an IPv4 table');
      if (take('-m') !== '-m' || take('icmp6') !== 'icmp6' || take('--icmpv6-type') !== '--icmpv6-type') fail('-p ipv6-icmp needs -m icmp6 --icmpv6-type');
      const type = take('an ICMPv6 type');
      if (!/^[a-z-]+$/.test(type)) fail(`${JSON.stringify(type)} is not an ICMPv6 type name`);
      matches.push({ kind: 'icmpv6-type', type });
    } else if (option === '-p' && proto === undefined) {
      const p = take('a protocol');
      if (!isL4Proto(p)) fail(`${JSON.stringify(p)} is not tcp, udp or sctp`);
      proto = p as L4Proto;
      matches.push({ kind: 'proto', proto });
    } else if (option === '-m') {
      const module = take('a module');
      if (module === proto) {
        if (take('--dport') !== '--dport') fail(`-m ${module} needs --dport`);
        matches.push({ kind: 'dport', ranges: [portRange(take('a port'))] });
      } else if (module === 'multiport' && proto !== undefined) {
        if (take('--dports') !== '--dports') fail('-m multiport needs --dports');
        const items = take('ports').split(',');
        if (items.reduce((slots, item) => slots + (item.includes(':') ? 2 : 1), 0) > MULTIPORT_SLOTS) fail(`multiport takes ${MULTIPORT_SLOTS} ports`);
        matches.push({ kind: 'dport', ranges: items.map(portRange) });
      } else if (module === 'set') {
        if (take('--match-set') !== '--match-set') fail('-m set needs --match-set');
        matches.push(setMatch(take('a set name'), take('directions'), family, ipsets, fail));
      } else if (module === 'conntrack') {
        if (take('--ctstate') !== '--ctstate') fail('-m conntrack needs --ctstate');
        const states = take('states').split(',');
        if (!states.every((s) => CT_STATES.includes(s))) fail('unknown ctstate');
        matches.push({ kind: 'ctstate', states });
      } else fail(`-m ${module} is not a match of our dialect here (-m tcp|udp|sctp and multiport follow -p)`);
    } else if (option === '-j' || option === '-g') {
      const name = take('a target');
      if (i !== tokens.length) fail(`${option} must end the rule`);
      if (option === '-j' && (name === 'RETURN' || name === 'DROP')) return { spec, matches, target: { kind: name } };
      if (!IPT_CHAIN.test(name)) fail(`${JSON.stringify(name)} is not a chain name`);
      return { spec, matches, target: { kind: option === '-j' ? 'jump' : 'goto', chain: name } };
    } else fail(`${JSON.stringify(option)} is not an option of our dialect`);
  }
  return fail('no -j or -g');
}

function setMatch(name: string, dirs: string, family: Family, ipsets: IpsetState, fail: (why: string) => never): IptMatch {
  const set = ipsets.get(name) ?? fail(`set ${name} does not exist`);
  if (set.family !== family) fail(`set ${name} is of family inet${set.family === 6 ? '6' : ''}, not this table's`);
  const directions = dirs.split(',');
  if (!directions.every((d): d is 'src' | 'dst' => d === 'src' || d === 'dst')) fail(`${JSON.stringify(dirs)} is not src/dst directions`);
  if (directions.length !== IPSET_DIMENSIONS[set.type]) fail(`${set.type} set ${name} needs ${IPSET_DIMENSIONS[set.type]} directions, not ${dirs}`);
  // a packet's source port is not part of a trace: hash:ip,port is only ever read with the destination port
  if (set.type === 'hash:ip,port' && directions[1] !== 'dst') fail(`${name}: the port of a hash:ip,port match must be dst`);
  return { kind: 'set', set: name, directions };
}
