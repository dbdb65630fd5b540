import { assertNever, type Family } from '@knp/shared';
import { TraceError, isL4Proto, type Probe } from './packet.js';
import { inSpan, mustCidr, mustIp, mustPort, type Span } from './values.js';

export type IpsetType = 'hash:ip' | 'hash:net' | 'hash:ip,port';
/** One entry: an address (hash:ip, hash:ip,port) or network (hash:net), with a protocol and port for hash:ip,port. */
export type IpsetEntry = { readonly text: string; readonly span: Span; readonly prefix: number; readonly nomatch: boolean; readonly proto?: string; readonly port?: number };
export type Ipset = { readonly name: string; readonly type: IpsetType; readonly family: Family; readonly maxelem: number; readonly entries: ReadonlyMap<string, IpsetEntry> };
/** The sets a node holds, by name. */
export type IpsetState = ReadonlyMap<string, Ipset>;
/** How many packet fields a set's entries compare (`--match-set NAME src,dst` gives one direction each). */
export const IPSET_DIMENSIONS: Readonly<Record<IpsetType, number>> = { 'hash:ip': 1, 'hash:net': 1, 'hash:ip,port': 2 };

/** A set while a restore fills it. */
type Filling = Omit<Ipset, 'entries'> & { readonly entries: Map<string, IpsetEntry> };

const CREATE = /^create (\S+) (hash:ip|hash:net|hash:ip,port) family (inet|inet6) maxelem ([1-9]\d*)( -exist)?$/;
const NAME = /^[A-Za-z0-9_.-]{1,31}$/;

/**
 * Runs `ipset restore` input of our dialect (create, flush, add, swap, destroy) against `before` (an empty
 * node by default). ipset stops at the first failing line; here that line throws a TraceError.
 */
export function restoreIpset(text: string, before: IpsetState = new Map()): IpsetState {
  const sets = new Map<string, Filling>([...before].map(([name, set]) => [name, { ...set, entries: new Map(set.entries) }]));
  const mustSet = (name: string, where: string): Filling => {
    const set = sets.get(name);
    if (!set) throw new TraceError(`${where}: set ${name} does not exist`);
    return set;
  };
  for (const [i, line] of text.split('\n').entries()) {
    const where = `ipset line ${i + 1}`;
    if (line === '') continue;
    const create = CREATE.exec(line);
    const [verb = '', name = '', ...args] = line.split(' ');
    if (!NAME.test(name)) throw new TraceError(`${where}: ${JSON.stringify(name)} is not a set name (at most 31 characters)`);
    if (create) {
      const set = { name, type: create[2] as IpsetType, family: create[3] === 'inet' ? 4 as const : 6 as const, maxelem: Number(create[4]), entries: new Map<string, IpsetEntry>() };
      const old = sets.get(name);
      if (old && !create[5]) throw new TraceError(`${where}: set ${name} already exists`);
      if (old && (old.type !== set.type || old.family !== set.family || old.maxelem !== set.maxelem)) throw new TraceError(`${where}: set ${name} exists with other parameters`);
      if (!old) sets.set(name, set);
    } else if (verb === 'flush' && args.length === 0) mustSet(name, where).entries.clear();
    else if (verb === 'destroy' && args.length === 0) sets.delete(mustSet(name, where).name);
    else if (verb === 'swap' && args.length === 1) {
      const a = mustSet(name, where), b = mustSet(args[0]!, where);
      if (a.type !== b.type || a.family !== b.family) throw new TraceError(`${where}: ${a.name} and ${b.name} are not of one type and family`);
      sets.set(a.name, { ...b, name: a.name });
      sets.set(b.name, { ...a, name: b.name });
    } else if (verb === 'add' && args.length >= 1 && args.length <= 3) {
      const set = mustSet(name, where), [value = '', ...flags] = args;
      const exist = flags.at(-1) === '-exist', nomatch = flags[0] === 'nomatch';
      if (flags.length !== Number(exist) + Number(nomatch)) throw new TraceError(`${where}: unknown add flags in: ${line}`);
      const entry = parseEntry(value, set.type, set.family, nomatch, where);
      const key = entryKey(entry.span[0], entry.prefix, entry.proto, entry.port);
      if (set.entries.has(key) && !exist) throw new TraceError(`${where}: ${value} is already in ${name}`);
      if (!set.entries.has(key) && set.entries.size >= set.maxelem) throw new TraceError(`${where}: ${name} is full (maxelem ${set.maxelem})`);
      set.entries.set(key, entry);
    } else throw new TraceError(`${where}: not an ipset command of our dialect: ${line}`);
  }
  return sets;
}

/** `10.0.0.1` (hash:ip), `10.0.0.0/8` or an address (hash:net, prefixes 1..32 or 1..128), `10.0.0.1,tcp:80` (hash:ip,port). */
function parseEntry(text: string, type: IpsetType, family: Family, nomatch: boolean, where: string): IpsetEntry {
  if (nomatch && type !== 'hash:net') throw new TraceError(`${where}: nomatch is for hash:net entries only`);
  const width = family === 4 ? 32 : 128;
  switch (type) {
    case 'hash:ip': {
      const ip = mustIp(text, where, family);
      return { text, span: [ip.value, ip.value], prefix: width, nomatch };
    }
    case 'hash:net': {
      const net = text.includes('/') ? mustCidr(text, where, family) : mustCidr(`${text}/${width}`, where, family);
      if (net.prefix === 0) throw new TraceError(`${where}: hash:net takes prefixes 1..${width}, not ${text}`);
      return { text: nomatch ? `${text} nomatch` : text, span: net.span, prefix: net.prefix, nomatch };
    }
    case 'hash:ip,port': {
      const [, address = '', proto = '', port = ''] = /^([^,]+),([a-z]+):(\d+)$/.exec(text) ?? [];
      if (!isL4Proto(proto)) throw new TraceError(`${where}: ${JSON.stringify(text)} is not ip,proto:port`);
      const ip = mustIp(address, where, family);
      return { text, span: [ip.value, ip.value], prefix: width, nomatch, proto, port: mustPort(port, where) };
    }
    default:
      return assertNever(type);
  }
}

/** Entries are keyed as ipset keys them: an address, network and prefix, or address, protocol and port. */
const entryKey = (first: bigint, prefix: number, proto?: string, port?: number): string => `${first}/${prefix}/${proto ?? ''}/${port ?? ''}`;

/**
 * Whether the packet is in the set, reading each dimension from the direction `--match-set` names. hash:net
 * decides by the most specific entry holding the address, so a `nomatch` entry inside a larger one is a hole.
 */
export function ipsetTest(set: Ipset, probe: Probe, directions: readonly ('src' | 'dst')[]): boolean {
  const address = directions[0] === 'src' ? probe.src : probe.dst, width = set.family === 4 ? 32 : 128;
  switch (set.type) {
    case 'hash:ip':
      return set.entries.has(entryKey(address, width));
    case 'hash:ip,port':
      // the second dimension is the destination port: restoreIptables refuses any other
      return set.entries.has(entryKey(address, width, probe.proto, probe.dport));
    case 'hash:net': {
      const holding = [...set.entries.values()].filter((e) => inSpan(address, e.span));
      return holding.reduce<IpsetEntry | undefined>((best, e) => (best && best.prefix >= e.prefix ? best : e), undefined)?.nomatch === false;
    }
    default:
      return assertNever(set.type);
  }
}
