import { assertNever, formatIp, parseCidr, parseIp, type Cidr, type Family, type Ip, type PortMatch, type Protocol, type RuleSetContent } from '@knp/shared';

/** What every renderer takes: the configured prefix (KNP_PREFIX) that names our kernel objects. */
export type RenderOptions = { readonly prefix: string };


/** An input the renderer refuses: the rule set is malformed (a compiler bug or a corrupt message). */
export class RenderError extends Error {
  override name = 'RenderError';
}

/** A parsed CIDR, or a RenderError naming where the bad text came from. */
export function mustParseCidr(text: string, where: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new RenderError(`${where}: ${JSON.stringify(text)} is not a CIDR`);
  return cidr;
}

/** A parsed address, or a RenderError naming where the bad text came from. */
export function mustParseIp(text: string, where: string): Ip {
  const ip = parseIp(text);
  if (!ip) throw new RenderError(`${where}: ${JSON.stringify(text)} is not an IP address`);
  return ip;
}


export function protoKeyword(protocol: Protocol): 'tcp' | 'udp' | 'sctp' {
  switch (protocol) {
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
    case 'SCTP':
      return 'sctp';
    default:
      return assertNever(protocol);
  }
}

export function mustPort(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535)
    throw new RenderError(`${where}: ${JSON.stringify(value)} is not a port (1-65535)`);
  return value;
}

/** The ports of one protocol a term allows: all of them, or merged items (`80`, `1000-2000`) in order. */
export type PortItems = { readonly proto: 'tcp' | 'udp' | 'sctp'; readonly all: boolean; readonly items: readonly string[] };

/**
 * Normalises the port matches of one protocol: any entry without a port means every port; ranges are
 * sorted and merged, because an interval set rejects overlapping elements.
 */
export function portItems(protocol: Protocol, matches: readonly PortMatch[], where: string): PortItems {
  const proto = protoKeyword(protocol);
  if (matches.some((m) => m.port === undefined)) return { proto, all: true, items: [] };
  const ranges = matches
    .map((m, i): [number, number] => {
      const first = mustPort(m.port, `${where}[${i}].port`);
      const last = m.endPort === undefined ? first : mustPort(m.endPort, `${where}[${i}].endPort`);
      if (last < first) throw new RenderError(`${where}[${i}]: endPort ${last} is below port ${first}`);
      return [first, last];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [first, last] of ranges) {
    const top = merged[merged.length - 1];
    if (top && first <= top[1] + 1) top[1] = Math.max(top[1], last);
    else merged.push([first, last]);
  }
  return { proto, all: false, items: merged.map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)) };
}

const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** An address as nft prints it, with a numeric sort key. Canonical IPv4 text (the common case) skips the bigint parser. */
export type CanonicalIp = { readonly family: Family; readonly key: bigint; readonly text: string };
export function canonicalIp(text: string, where: string): CanonicalIp {
  if (DOTTED_QUAD.test(text)) {
    const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
    return { family: 4, key: BigInt(((a * 256 + b) * 256 + c) * 256 + d), text };
  }
  const ip = mustParseIp(text, where);
  return { family: ip.family, key: ip.value, text: formatIp(ip) };
}

/** Addresses sorted numerically, each once. */
export function sortedUnique(ips: readonly CanonicalIp[]): string[] {
  const sorted = [...ips].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return sorted.filter((ip, i) => i === 0 || ip.key !== sorted[i - 1]!.key).map((ip) => ip.text);
}

/** The families the node's rule set uses anywhere; pod sets get one kernel set per family (IPv4 if none). */
export function familiesOf(ruleSet: RuleSetContent): Family[] {
  const seen = new Set<Family>();
  // validation comes later, set by set; here the family is all that matters
  const note = (text: string): void => void seen.add(text.includes(':') ? 6 : 4);
  for (const pod of ruleSet.pods) pod.ips.forEach(note);
  for (const set of ruleSet.sets) {
    if (set.kind === 'pods' || set.kind === 'nodes') set.ips.forEach(note);
    else if (set.kind === 'cidr') note(set.cidr);
    else set.entries.forEach((e) => note(e.ip));
  }
  if (seen.size === 0) seen.add(4);
  return [...seen].sort();
}
