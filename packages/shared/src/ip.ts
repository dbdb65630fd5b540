import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;
/** A parsed address: family and value as an integer (32 or 128 bits). */
export type Ip = { readonly family: Family; readonly value: bigint };
/** A parsed CIDR with host bits cleared, as the API server reads `10.1.2.3/8` (= 10.0.0.0/8). */
export type Cidr = { readonly family: Family; readonly network: bigint; readonly prefix: number };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** Parses an IPv4 or IPv6 address (no zone, no brackets); undefined when it is not one. */
export function parseIp(text: string): Ip | undefined {
  if (isIPv4(text)) {
    const parts = text.split('.').map(Number);
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  if (text.includes('.')) {
    // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
    const at = text.lastIndexOf(':');
    const v4 = parseIp(text.slice(at + 1));
    if (!v4 || v4.family !== 4) return undefined;
    head = `${text.slice(0, at + 1)}${(v4.value >> 16n).toString(16)}:${(v4.value & 0xffffn).toString(16)}`;
  }
  const [left = '', right] = head.split('::');
  const toGroups = (s: string): bigint[] => (s === '' ? [] : s.split(':').map((g) => BigInt(parseInt(g, 16))));
  const l = toGroups(left), r = right === undefined ? [] : toGroups(right);
  const groups = right === undefined ? l : [...l, ...Array<bigint>(Math.max(0, 8 - l.length - r.length)).fill(0n), ...r];
  if (groups.length !== 8) return undefined;
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

/** Prints an address canonically (dotted quad; RFC 5952 for IPv6). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an address, or undefined when the text is not an address. */
export function normalizeIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip);
}

/**
 * Parses `addr/bits`; host bits are cleared (the API server accepts them and means the network). A prefix
 * length with a leading zero (`/08`) is refused, as the API server's strict CIDR validation does.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', bits = '', extra] = text.split('/');
  if (extra !== undefined || !/^(0|[1-9]\d{0,2})$/.test(bits)) return undefined;
  const ip = parseIp(address);
  const prefix = Number(bits);
  if (!ip || prefix > BITS[ip.family]) return undefined;
  return { family: ip.family, network: ip.value & mask(ip.family, prefix), prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`;
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** First and last address of a CIDR. */
export function cidrRange(cidr: Cidr): readonly [bigint, bigint] {
  const size = 1n << BigInt(BITS[cidr.family] - cidr.prefix);
  return [cidr.network, cidr.network + size - 1n];
}

export function cidrContainsIp(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  const [lo, hi] = cidrRange(cidr);
  return ip.value >= lo && ip.value <= hi;
}

/** True when `inner` lies wholly inside `outer` (same family). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return cidrContainsIp(outer, { family: inner.family, value: inner.network });
}

/** An inclusive address range. */
export type IpRange = { readonly family: Family; readonly first: bigint; readonly last: bigint };

/** `cidr` minus every `except`, as sorted disjoint ranges (nft interval sets reject overlaps). */
export function subtractCidrs(cidr: Cidr, except: readonly Cidr[]): IpRange[] {
  const [first, last] = cidrRange(cidr);
  const holes = except
    .filter((e) => e.family === cidr.family)
    .map(cidrRange)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: IpRange[] = [];
  let cursor = first;
  for (const [lo, hi] of holes) {
    if (hi < cursor) continue;
    if (lo > last) break;
    if (lo > cursor) out.push({ family: cidr.family, first: cursor, last: lo - 1n });
    cursor = hi + 1n;
    if (cursor > last) return out;
  }
  if (cursor <= last) out.push({ family: cidr.family, first: cursor, last });
  return out;
}

/** Splits a range into the fewest CIDRs that cover exactly it (for kernels that hold only prefixes). */
export function rangeToCidrs(range: IpRange): Cidr[] {
  const bits = BITS[range.family];
  const out: Cidr[] = [];
  let start = range.first;
  while (start <= range.last) {
    let size = bits;
    // grow the block while it stays aligned and inside the range
    while (size > 0) {
      const block = 1n << BigInt(bits - size + 1);
      if (start % block !== 0n || start + block - 1n > range.last) break;
      size--;
    }
    out.push({ family: range.family, network: start, prefix: size });
    start += 1n << BigInt(bits - size);
  }
  return out;
}
