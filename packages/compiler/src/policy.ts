import { parseCidr, formatCidr, cidrContainsCidr, isPortName, preview, PROTOCOLS, type Cidr, type Protocol, type Direction } from '@knp/shared';
import { parseSelector, type Selector } from './selector.js';
import type { Rejection } from '@knp/shared';

/** A peer that selects pods: in the policy's namespace, or in the namespaces a selector picks. */
/**
 * `recordless` (ClusterNetworkPolicy peers only): a pod whose Namespace record is missing counts as in a
 * namespace without labels (see clusterNamespaceLabels); NetworkPolicy peers select recorded namespaces only.
 */
export type PodPeer = { readonly kind: 'pods'; readonly namespace?: string; readonly namespaceSelector?: Selector; readonly podSelector: Selector; readonly recordless?: true };
export type IpBlockPeer = { readonly kind: 'ipBlock'; readonly cidr: Cidr; readonly except: readonly Cidr[] };
export type Peer = PodPeer | IpBlockPeer;

/** A port as written: number, name (resolved per destination pod), or none (all ports of the protocol). */
export type PolicyPort =
  | { readonly kind: 'number'; readonly protocol: Protocol; readonly port?: number; readonly endPort?: number }
  | { readonly kind: 'named'; readonly protocol: Protocol; readonly name: string };

/** One valid entry of spec.ingress or spec.egress; `index` is its position there. */
export type PolicyRule = {
  readonly index: number;
  readonly peers: 'any' | readonly Peer[];
  readonly ports: 'any' | readonly PolicyPort[];
};

export type ParsedPolicy = {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ref: string;
  readonly podSelector: Selector;
  /** Absent: the policy does not isolate this direction (policyTypes). */
  readonly ingress?: readonly PolicyRule[];
  readonly egress?: readonly PolicyRule[];
};

export type PolicyRecord = {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /**
   * Absent when the policy cannot be enforced at all (spec, podSelector or policyTypes invalid): the edge
   * then skips the object, so state never holds such a record (see input/object.ts).
   */
  readonly parsed?: ParsedPolicy;
  readonly rejections: readonly Rejection[];
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and validates a NetworkPolicy as the API server would. An invalid rule (any bad peer or port in
 * spec.ingress[i] / spec.egress[i]) is dropped whole and reported: dropping only a peer could turn
 * `from: [bad]` into `from: []`, which allows everything. The policy still isolates its pods, so bad
 * input never opens traffic. An invalid podSelector or policyTypes rejects the whole policy.
 */
export function parsePolicy(uid: string, namespace: string, name: string, object: unknown): PolicyRecord {
  const ref = `${namespace}/${name}`;
  const who = `NetworkPolicy ${ref}`;
  const rejections: Rejection[] = [];
  const spec = isObj(object) && isObj(object.spec) ? object.spec : undefined;
  if (!spec) return { uid, namespace, name, rejections: [{ object: who, field: 'spec', reason: 'is missing or not an object' }] };

  const podSelector = parseSelector(spec.podSelector ?? {}, 'spec.podSelector', who, rejections);
  const types = policyTypes(spec, who, rejections);
  if (!podSelector || !types) return { uid, namespace, name, rejections };

  const rules = (direction: Direction): readonly PolicyRule[] | undefined => {
    if (!types.has(direction)) return undefined;
    const list = spec[direction];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) {
      rejections.push({ object: who, field: `spec.${direction}`, reason: 'is not a list' });
      return [];
    }
    return list.flatMap((rule: unknown, index) => {
      const parsed = parseRule(rule, index, direction, namespace, who, rejections);
      return parsed ? [parsed] : [];
    });
  };
  const ingress = rules('ingress'), egress = rules('egress');
  const parsed: ParsedPolicy = { uid, namespace, name, ref, podSelector, ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}) };
  return { uid, namespace, name, parsed, rejections };
}

/**
 * spec: without policyTypes a policy isolates ingress, and egress too when it has egress rules. An egress
 * field that is not a list counts as rules (rejected, so the policy isolates egress and allows none of it):
 * read as "no egress rules" it would stop isolating, allowing more than the policy meant.
 */
function policyTypes(spec: Obj, who: string, rejections: Rejection[]): Set<Direction> | undefined {
  const raw = spec.policyTypes;
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    const types = new Set<Direction>(['ingress']);
    const egress = spec.egress;
    if (egress !== undefined && egress !== null && !(Array.isArray(egress) && egress.length === 0)) types.add('egress');
    return types;
  }
  if (!Array.isArray(raw)) {
    rejections.push({ object: who, field: 'spec.policyTypes', reason: 'is not a list' });
    return undefined;
  }
  const types = new Set<Direction>();
  for (const [i, t] of raw.entries()) {
    if (t === 'Ingress') types.add('ingress');
    else if (t === 'Egress') types.add('egress');
    else {
      rejections.push({ object: who, field: `spec.policyTypes[${i}]`, reason: `${preview(t)} is not Ingress or Egress` });
      return undefined;
    }
  }
  return types;
}

function parseRule(rule: unknown, index: number, direction: Direction, namespace: string, who: string, rejections: Rejection[]): PolicyRule | undefined {
  const at = `spec.${direction}[${index}]`;
  if (!isObj(rule)) {
    rejections.push({ object: who, field: at, reason: 'is not an object; rule ignored' });
    return undefined;
  }
  const problems: Rejection[] = [];
  const peerField = direction === 'ingress' ? 'from' : 'to';
  const rawPeers = rule[peerField];
  let peers: 'any' | Peer[] = 'any';
  if (Array.isArray(rawPeers) && rawPeers.length > 0) {
    peers = [];
    for (const [i, p] of rawPeers.entries()) {
      const peer = parsePeer(p, `${at}.${peerField}[${i}]`, namespace, who, problems);
      if (peer) peers.push(peer);
    }
  } else if (rawPeers !== undefined && rawPeers !== null && !Array.isArray(rawPeers)) {
    problems.push({ object: who, field: `${at}.${peerField}`, reason: 'is not a list' });
  }
  let ports: 'any' | PolicyPort[] = 'any';
  if (Array.isArray(rule.ports) && rule.ports.length > 0) {
    ports = [];
    for (const [i, p] of rule.ports.entries()) {
      const port = parsePort(p, `${at}.ports[${i}]`, who, problems);
      if (port) ports.push(port);
    }
  } else if (rule.ports !== undefined && rule.ports !== null && !Array.isArray(rule.ports)) {
    problems.push({ object: who, field: `${at}.ports`, reason: 'is not a list' });
  }
  if (problems.length > 0) {
    rejections.push(...problems.map((p) => ({ ...p, reason: `${p.reason}; rule ${at} ignored` })));
    return undefined;
  }
  return { index, peers, ports };
}

function parsePeer(value: unknown, at: string, namespace: string, who: string, problems: Rejection[]): Peer | undefined {
  if (!isObj(value)) {
    problems.push({ object: who, field: at, reason: 'is not an object' });
    return undefined;
  }
  const hasPods = value.podSelector !== undefined && value.podSelector !== null;
  const hasNamespaces = value.namespaceSelector !== undefined && value.namespaceSelector !== null;
  const hasBlock = value.ipBlock !== undefined && value.ipBlock !== null;
  if (hasBlock && (hasPods || hasNamespaces)) {
    problems.push({ object: who, field: at, reason: 'ipBlock cannot be combined with podSelector or namespaceSelector' });
    return undefined;
  }
  if (hasBlock) return parseIpBlock(value.ipBlock, `${at}.ipBlock`, who, problems);
  if (!hasPods && !hasNamespaces) {
    problems.push({ object: who, field: at, reason: 'must set podSelector, namespaceSelector or ipBlock' });
    return undefined;
  }
  const podSelector = parseSelector(value.podSelector, `${at}.podSelector`, who, problems);
  if (!podSelector) return undefined;
  if (!hasNamespaces) return { kind: 'pods', namespace, podSelector };
  const namespaceSelector = parseSelector(value.namespaceSelector, `${at}.namespaceSelector`, who, problems);
  // spec: with both selectors the peer is the selected pods in the selected namespaces
  return namespaceSelector ? { kind: 'pods', namespaceSelector, podSelector } : undefined;
}

function parseIpBlock(value: unknown, at: string, who: string, problems: Rejection[]): IpBlockPeer | undefined {
  if (!isObj(value)) {
    problems.push({ object: who, field: at, reason: 'is not an object' });
    return undefined;
  }
  const cidr = typeof value.cidr === 'string' && value.cidr.length <= 64 ? parseCidr(value.cidr) : undefined;
  if (!cidr) {
    problems.push({ object: who, field: `${at}.cidr`, reason: `${preview(value.cidr)} is not a CIDR` });
    return undefined;
  }
  const except: Cidr[] = [];
  const rawExcept = value.except ?? [];
  if (!Array.isArray(rawExcept)) {
    problems.push({ object: who, field: `${at}.except`, reason: 'is not a list' });
    return undefined;
  }
  for (const [i, text] of rawExcept.entries()) {
    const e = typeof text === 'string' && text.length <= 64 ? parseCidr(text) : undefined;
    if (!e) problems.push({ object: who, field: `${at}.except[${i}]`, reason: `${preview(text)} is not a CIDR` });
    // spec (validation): each except must be strictly inside cidr
    else if (!cidrContainsCidr(cidr, e) || e.prefix === cidr.prefix)
      problems.push({ object: who, field: `${at}.except[${i}]`, reason: `${formatCidr(e)} is not strictly inside ${formatCidr(cidr)}` });
    else except.push(e);
  }
  if (except.length !== rawExcept.length) return undefined;
  return { kind: 'ipBlock', cidr, except };
}

function parsePort(value: unknown, at: string, who: string, problems: Rejection[]): PolicyPort | undefined {
  if (!isObj(value)) {
    problems.push({ object: who, field: at, reason: 'is not an object' });
    return undefined;
  }
  const protocol = value.protocol ?? 'TCP';
  if (!PROTOCOLS.includes(protocol as Protocol)) {
    problems.push({ object: who, field: `${at}.protocol`, reason: `${preview(protocol)} is not TCP, UDP or SCTP` });
    return undefined;
  }
  const proto = protocol as Protocol;
  const { port, endPort } = value;
  if (port === undefined || port === null) {
    if (endPort !== undefined && endPort !== null) {
      problems.push({ object: who, field: `${at}.endPort`, reason: 'requires port' });
      return undefined;
    }
    return { kind: 'number', protocol: proto };
  }
  if (typeof port === 'string') {
    // spec: port is an int-or-string; the string form is a name, an IANA_SVC_NAME (1-15 of a-z0-9 and '-',
    // with a letter, no '--', not at the ends): "80" or "0080" as a string is refused, as the API server does
    if (!isPortName(port)) {
      problems.push({ object: who, field: `${at}.port`, reason: /^\d+$/.test(port) ? `${preview(port)} is a string: a port number must be a number, a string must be a name` : `${preview(port)} is not a valid port name` });
      return undefined;
    }
    if (endPort !== undefined && endPort !== null) {
      problems.push({ object: who, field: `${at}.endPort`, reason: 'cannot be used with a named port' });
      return undefined;
    }
    return { kind: 'named', protocol: proto, name: port };
  }
  const number = port;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
    problems.push({ object: who, field: `${at}.port`, reason: `${preview(port)} is not a port number 1-65535` });
    return undefined;
  }
  if (endPort === undefined || endPort === null) return { kind: 'number', protocol: proto, port: number };
  if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort < 1 || endPort > 65535) {
    problems.push({ object: who, field: `${at}.endPort`, reason: `${preview(endPort)} is not a port number 1-65535` });
    return undefined;
  }
  if (endPort < number) {
    problems.push({ object: who, field: `${at}.endPort`, reason: `${endPort} is less than port ${number}` });
    return undefined;
  }
  return { kind: 'number', protocol: proto, port: number, ...(endPort > number ? { endPort } : {}) };
}
