import { assertNever } from '@knp/shared';
import { TraceError, PROTO_NUMBER, isL4Proto } from './packet.js';
import { inSpan, mustIp, mustPort, mustRange, type Span } from './values.js';
import { parseNftVerdict, type NftVerdict } from './nft-rule.js';

/** The key types of our dialect; a concatenation is several (`ipv4_addr . inet_proto . inet_service`). */
export type NftKeyType = 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service';
const KEY_TYPES: readonly NftKeyType[] = ['ipv4_addr', 'ipv6_addr', 'inet_proto', 'inet_service'];

/** One element: a span per key part (a single value is a one-value span), and a verdict in a map. */
export type NftElement = { readonly text: string; readonly key: readonly Span[]; readonly verdict?: NftVerdict };

export type NftSet = {
  readonly name: string;
  readonly map: boolean;
  readonly key: readonly NftKeyType[];
  readonly interval: boolean;
  readonly elements: readonly NftElement[];
};

/** The text after `type `: key parts joined by ` . `, then ` : verdict` for a map (the only map data we render). */
export function parseSetType(text: string, map: boolean, where: string): NftKeyType[] {
  const keyText = map ? text.replace(/ : verdict$/, '') : text;
  if (map && keyText === text) throw new TraceError(`${where}: a map of our dialect has type "<key> : verdict", not ${JSON.stringify(text)}`);
  const parts = keyText.split(' . ');
  for (const part of parts)
    if (!(KEY_TYPES as readonly string[]).includes(part)) throw new TraceError(`${where}: ${JSON.stringify(part)} is not a key type of our dialect`);
  return parts as NftKeyType[];
}

/**
 * Parses the elements of a set or map (the comma-separated text between `elements = {` and `}`) and checks
 * what nft checks on load: ranges only with `flags interval`, no overlapping intervals ("conflicting
 * intervals"), no map key given two verdicts.
 */
export function parseElements(items: readonly string[], set: Omit<NftSet, 'elements'>, where: string): NftElement[] {
  if (set.interval && set.key.length !== 1) throw new TraceError(`${where}: our dialect has no interval concatenations`);
  const elements = items.map((text, i) => parseElement(text, set, `${where} element ${i + 1}`));
  if (set.interval) {
    const sorted = [...elements].sort((a, b) => (a.key[0]![0] < b.key[0]![0] ? -1 : a.key[0]![0] > b.key[0]![0] ? 1 : 0));
    for (const [i, element] of sorted.entries())
      if (i > 0 && element.key[0]![0] <= sorted[i - 1]!.key[0]![1]) throw new TraceError(`${where}: conflicting intervals ${sorted[i - 1]!.text} and ${element.text}`);
  }
  if (set.map) {
    const seen = new Map<string, string>();
    for (const element of elements) {
      const key = element.key.map((s) => `${s[0]}-${s[1]}`).join('.');
      if (seen.has(key)) throw new TraceError(`${where}: map key given twice: ${seen.get(key)} and ${element.text}`);
      seen.set(key, element.text);
    }
  }
  return elements;
}

function parseElement(text: string, set: Omit<NftSet, 'elements'>, where: string): NftElement {
  const [keyText = '', verdictText, extra] = text.split(' : ');
  if (extra !== undefined || set.map !== (verdictText !== undefined)) throw new TraceError(`${where}: ${JSON.stringify(text)} does not fit ${set.map ? 'a verdict map' : 'a set'}`);
  const parts = keyText.split(' . ');
  if (parts.length !== set.key.length) throw new TraceError(`${where}: ${JSON.stringify(text)} does not have ${set.key.length} key parts`);
  const key = parts.map((part, i) => parseKeyPart(part, set.key[i]!, set.interval, where));
  return verdictText === undefined ? { text, key } : { text, key, verdict: parseNftVerdict(verdictText.split(' '), where) };
}

function parseKeyPart(text: string, type: NftKeyType, interval: boolean, where: string): Span {
  if (!interval && text.includes('-')) throw new TraceError(`${where}: a range ${JSON.stringify(text)} needs "flags interval"`);
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return mustRange(text, '-', (t) => mustIp(t, where, type === 'ipv4_addr' ? 4 : 6).value, where);
    case 'inet_service':
      return mustRange(text, '-', (t) => BigInt(mustPort(t, where)), where);
    case 'inet_proto': {
      if (!isL4Proto(text)) throw new TraceError(`${where}: ${JSON.stringify(text)} is not tcp, udp or sctp`);
      return [BigInt(PROTO_NUMBER[text]), BigInt(PROTO_NUMBER[text])];
    }
    default:
      return assertNever(type);
  }
}

/** The element whose every key part holds the packet's value, if any. */
export function lookupElement(set: NftSet, key: readonly bigint[]): NftElement | undefined {
  return set.elements.find((e) => e.key.every((span, i) => inSpan(key[i]!, span)));
}
