import { formatIp, parseIp, type Family } from '@knp/shared';
import { TraceError, isL4Proto, type Packet, type Probe } from './packet.js';

/** An inclusive range of values (addresses, ports, protocol numbers): every matcher compares against one. */
export type Span = readonly [first: bigint, last: bigint];

const BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

/**
 * An address in the text our renderers print: canonical only (dotted quad, RFC 5952), because the renderers
 * print parsed values and anything else in their output is a bug. `family` pins IPv4 or IPv6.
 */
export function mustIp(text: string, where: string, family?: Family): { readonly family: Family; readonly value: bigint } {
  const ip = parseIp(text);
  if (!ip || formatIp(ip) !== text) throw new TraceError(`${where}: ${JSON.stringify(text)} is not an IP address in canonical form`);
  if (family !== undefined && ip.family !== family) throw new TraceError(`${where}: ${text} is not an IPv${family} address`);
  return ip;
}

export type Net = { readonly family: Family; readonly prefix: number; readonly span: Span };

/** `addr/prefix` with no host bits set (iptables and ipset would mask them silently; our renderers never set them). */
export function mustCidr(text: string, where: string, family?: Family): Net {
  const [address = '', bits, extra] = text.split('/');
  if (bits === undefined || extra !== undefined || !/^(0|[1-9]\d{0,2})$/.test(bits)) throw new TraceError(`${where}: ${JSON.stringify(text)} is not addr/prefix`);
  const ip = mustIp(address, where, family), prefix = Number(bits), width = BITS[ip.family];
  if (prefix > width) throw new TraceError(`${where}: ${text} has a prefix longer than ${width}`);
  const size = 1n << BigInt(width - prefix);
  if (ip.value % size !== 0n) throw new TraceError(`${where}: ${text} has host bits set`);
  return { family: ip.family, prefix, span: [ip.value, ip.value + size - 1n] };
}

/** A port 1-65535 in plain decimal. */
export function mustPort(text: string, where: string): number {
  const port = /^[1-9]\d{0,4}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) throw new TraceError(`${where}: ${JSON.stringify(text)} is not a port`);
  return port;
}

/** `first<sep>last` with first <= last, or one value as a one-value span. */
export function mustRange(text: string, sep: string, parse: (part: string) => bigint, where: string): Span {
  const parts = text.split(sep);
  if (parts.length > 2) throw new TraceError(`${where}: ${JSON.stringify(text)} is not a value or a range`);
  const first = parse(parts[0]!), last = parts.length === 2 ? parse(parts[1]!) : first;
  if (last < first) throw new TraceError(`${where}: ${JSON.stringify(text)} is an empty range`);
  return [first, last];
}

export const inSpan = (value: bigint, span: Span): boolean => value >= span[0] && value <= span[1];

/** The packet with its fields checked and its addresses parsed. */
export function probeOf(packet: Packet): Probe {
  const src = mustIp(packet.src, 'packet src'), dst = mustIp(packet.dst, 'packet dst', src.family);
  if (!Number.isInteger(packet.dport) || packet.dport < 1 || packet.dport > 65535) throw new TraceError(`packet dport: ${packet.dport} is not a port`);
  const proto = packet.protocol.toLowerCase();
  if (!isL4Proto(proto)) throw new TraceError(`packet protocol: ${JSON.stringify(packet.protocol)} is not TCP, UDP or SCTP`);
  const ct = packet.ct ?? 'new';
  if (!['new', 'established', 'related'].includes(ct)) throw new TraceError(`packet ct: ${JSON.stringify(ct)} is not new, established or related`);
  return { family: src.family, src: src.value, dst: dst.value, proto, dport: packet.dport, ct };
}
