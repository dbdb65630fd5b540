import { assertNever, formatIp, parseIp, type Family, type Ip, type PortMatch, type Protocol } from '@knp/shared';

/**
 * The only place text from the API (pod and policy names) may enter an nft script: as a quoted comment.
 * Everything outside a small safe alphabet becomes '_', so no quote, newline, ';', '}' or '#' survives,
 * and the result fits nft's comment limit (128 bytes) with room to spare.
 */
export function nftComment(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9 ._/:=[\]-]/g, '_').slice(0, COMMENT_MAX);
  return `comment "${safe}"`;
}
const COMMENT_MAX = 100;

/** An input the renderer refuses: the rule set is malformed (a compiler bug or a corrupt message). */
export class RenderError extends Error {
  override name = 'RenderError';
}

/** A parsed address, or a RenderError naming where the bad text came from. */
export function mustParseIp(text: string, where: string): Ip {
  const ip = parseIp(text);
  if (!ip) throw new RenderError(`${where}: ${JSON.stringify(text)} is not an IP address`);
  return ip;
}

export const addrType = (family: Family): string => (family === 4 ? 'ipv4_addr' : 'ipv6_addr');
export const addrKeyword = (family: Family): string => (family === 4 ? 'ip' : 'ip6');
export const printIp = formatIp;

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
