import { isPortName, parseCidr, preview, PROTOCOLS, type Direction, type Protocol, type Rejection, type Tier, type TierAction } from '@knp/shared';
import { MATCH_ALL, parseSelector, type Selector } from './selector.js';
import type { IpBlockPeer, PodPeer } from './policy.js';

/*
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2), read whole at the edge. A policy whose tier,
 * priority, subject or rule lists cannot be read is skipped like a NetworkPolicy with a bad podSelector (the
 * earlier valid version stays). A rule knp cannot read in full fails closed, as the API says for a peer of an
 * unknown kind: an Accept rule matches nothing, a Deny or Pass rule (or one whose action is unreadable) denies
 * all traffic. Every such rule is reported; none is dropped silently.
 */

/** The pods a policy applies to: every pod of the selected namespaces, or the selected pods in them. */
export type ClusterSubject =
  | { readonly kind: 'namespaces'; readonly namespaceSelector: Selector }
  | { readonly kind: 'pods'; readonly namespaceSelector: Selector; readonly podSelector: Selector };

/** IPs of the Nodes whose labels a selector selects (egress only). */
export type NodesPeer = { readonly kind: 'nodes'; readonly selector: Selector };
/** A peer: pods (`namespaces` and `pods` peers, read as pods in selected namespaces), one CIDR of `networks`, or nodes. */
export type ClusterPeer = PodPeer | IpBlockPeer | NodesPeer;

/** A `protocols` entry: a protocol with a port or range, or a port name resolved per destination pod (any protocol). */
export type ClusterPort =
  | { readonly kind: 'number'; readonly protocol: Protocol; readonly port: number; readonly endPort?: number }
  | { readonly kind: 'named'; readonly name: string };

/** One entry of spec.ingress or spec.egress, `index` its position; `failed`: unreadable, so it fails closed. */
export type ClusterRule =
  | { readonly kind: 'match'; readonly index: number; readonly action: TierAction; readonly peers: readonly ClusterPeer[]; readonly ports: 'any' | readonly ClusterPort[] }
  | { readonly kind: 'failed'; readonly index: number; readonly action: TierAction | 'unknown' };

export type ClusterPolicyRecord = {
  readonly uid: string;
  readonly name: string;
  readonly tier: Tier;
  readonly priority: number;
  readonly subject: ClusterSubject;
  readonly ingress: readonly ClusterRule[];
  readonly egress: readonly ClusterRule[];
  readonly rejections: readonly Rejection[];
};

/** spec: at most 25 rules per direction, 25 peers per rule, 25 protocols per rule, 25 CIDRs per networks peer. */
export const MAX_ITEMS = 25;
const MAX_PRIORITY = 1000;
const TIERS: Readonly<Record<string, Tier>> = { __proto__: null, Admin: 'admin', Baseline: 'baseline' } as never;
const ACTIONS: readonly TierAction[] = ['Accept', 'Deny', 'Pass'];
const PROTOCOL_KEYS: Readonly<Record<string, Protocol>> = { __proto__: null, tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as never;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null;
const presentKeys = (o: Obj): string[] => Object.keys(o).filter((k) => present(o[k]));

export type ClusterPolicyRead = { readonly record?: ClusterPolicyRecord; readonly rejections: readonly Rejection[] };

/** Parses a ClusterNetworkPolicy; no record when it cannot be enforced at all (the edge then skips it). */
export function parseClusterPolicy(uid: string, name: string, object: unknown): ClusterPolicyRead {
  const who = `ClusterNetworkPolicy ${name}`;
  const fatal: Rejection[] = [];
  const spec = isObj(object) && isObj(object.spec) ? object.spec : undefined;
  if (!spec) return { rejections: [{ object: who, field: 'spec', reason: 'is missing or not an object' }] };

  const tier = typeof spec.tier === 'string' ? TIERS[spec.tier] : undefined;
  if (!tier) fatal.push({ object: who, field: 'spec.tier', reason: `${preview(spec.tier)} is not Admin or Baseline` });
  const priority = spec.priority;
  const priorityOk = typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= MAX_PRIORITY;
  if (!priorityOk) fatal.push({ object: who, field: 'spec.priority', reason: `${preview(priority)} is not an integer 0-${MAX_PRIORITY}` });
  const subject = parseSubject(spec.subject, who, fatal);
  for (const direction of ['ingress', 'egress'] as const) {
    const list = spec[direction];
    if (present(list) && !Array.isArray(list)) fatal.push({ object: who, field: `spec.${direction}`, reason: `${preview(list)} is not a list` });
    else if (Array.isArray(list) && list.length > MAX_ITEMS) fatal.push({ object: who, field: `spec.${direction}`, reason: `has ${list.length} rules, more than ${MAX_ITEMS}` });
  }
  if (fatal.length > 0 || !tier || !subject) return { rejections: fatal };

  const rejections: Rejection[] = [];
  for (const key of Object.keys(spec))
    if (!['tier', 'priority', 'subject', 'ingress', 'egress'].includes(key)) rejections.push({ object: who, field: `spec.${key}`, reason: 'is not a field knp knows; ignored' });
  const rules = (direction: Direction): ClusterRule[] =>
    ((spec[direction] ?? []) as unknown[]).map((rule, index) => parseRule(rule, index, direction, who, rejections));
  const ingress = rules('ingress'), egress = rules('egress');
  return { record: { uid, name, tier, priority: priority as number, subject, ingress, egress, rejections }, rejections };
}

function parseSubject(value: unknown, who: string, problems: Rejection[]): ClusterSubject | undefined {
  if (!isObj(value)) return void problems.push({ object: who, field: 'spec.subject', reason: 'is missing or not an object' });
  const keys = presentKeys(value);
  if (keys.length !== 1 || (keys[0] !== 'namespaces' && keys[0] !== 'pods'))
    return void problems.push({ object: who, field: 'spec.subject', reason: `must set exactly one of namespaces or pods (has ${keys.length === 0 ? 'none' : keys.map((k) => preview(k)).join(', ')})` });
  if (keys[0] === 'namespaces') {
    const namespaceSelector = selector(value.namespaces, 'spec.subject.namespaces', who, problems);
    return namespaceSelector && { kind: 'namespaces', namespaceSelector };
  }
  const pods = namespacedPod(value.pods, 'spec.subject.pods', who, problems);
  return pods && { kind: 'pods', ...pods };
}

/** A selector that must be an object (`{}` selects all); parseSelector reads an absent one as all, so absence is checked here. */
function selector(value: unknown, field: string, who: string, problems: Rejection[]): Selector | undefined {
  if (!isObj(value)) return void problems.push({ object: who, field, reason: `${preview(value)} is not a label selector object` });
  return parseSelector(value, field, who, problems);
}

function namespacedPod(value: unknown, field: string, who: string, problems: Rejection[]): { namespaceSelector: Selector; podSelector: Selector } | undefined {
  if (!isObj(value)) return void problems.push({ object: who, field, reason: `${preview(value)} is not an object` });
  const unknown = Object.keys(value).filter((k) => k !== 'namespaceSelector' && k !== 'podSelector');
  if (unknown.length > 0) return void problems.push({ object: who, field: `${field}.${unknown[0]}`, reason: 'is not a field knp knows' });
  // spec: podSelector is required; an absent namespaceSelector (or {}) selects every namespace
  const podSelector = selector(value.podSelector, `${field}.podSelector`, who, problems);
  const namespaceSelector = present(value.namespaceSelector) ? selector(value.namespaceSelector, `${field}.namespaceSelector`, who, problems) : MATCH_ALL;
  return podSelector && namespaceSelector && { namespaceSelector, podSelector };
}

function parseRule(rule: unknown, index: number, direction: Direction, who: string, rejections: Rejection[]): ClusterRule {
  const at = `spec.${direction}[${index}]`;
  const problems: Rejection[] = [];
  const fail = (action: TierAction | 'unknown'): ClusterRule => {
    const closed = action === 'Accept' ? 'the rule fails closed: it matches nothing' : 'the rule fails closed: it denies all traffic';
    rejections.push(...problems.map((p) => ({ ...p, reason: `${p.reason}; ${closed}` })));
    return { kind: 'failed', index, action };
  };
  if (!isObj(rule)) return problems.push({ object: who, field: at, reason: 'is not an object' }), fail('unknown');
  const action = ACTIONS.find((a) => a === rule.action);
  if (!action) problems.push({ object: who, field: `${at}.action`, reason: `${preview(rule.action)} is not Accept, Deny or Pass` });
  const peerField = direction === 'ingress' ? 'from' : 'to';
  for (const key of Object.keys(rule))
    if (![peerField, 'name', 'action', 'protocols'].includes(key)) problems.push({ object: who, field: `${at}.${key}`, reason: 'is not a field knp knows' });
  if (present(rule.name) && (typeof rule.name !== 'string' || rule.name.length > 100)) problems.push({ object: who, field: `${at}.name`, reason: `${preview(rule.name)} is not a name of at most 100 characters` });
  const peers = list(rule[peerField], `${at}.${peerField}`, who, problems).flatMap((p, i) => parsePeer(p, `${at}.${peerField}[${i}]`, direction, who, problems));
  const rawPorts = present(rule.protocols) ? list(rule.protocols, `${at}.protocols`, who, problems) : undefined;
  const ports = rawPorts?.flatMap((p, i) => parsePort(p, `${at}.protocols[${i}]`, who, problems) ?? []);
  if (ports?.some((p) => p.kind === 'named') && peers.some((p) => p.kind !== 'pods'))
    problems.push({ object: who, field: `${at}.protocols`, reason: 'destinationNamedPort cannot be used with networks or nodes peers (they have no named ports)' });
  if (problems.length > 0 || !action) return fail(action ?? 'unknown');
  return { kind: 'match', index, action, peers, ports: ports ?? 'any' };
}

/** A list of 1-25 items; anything else is a problem (and reads as empty). */
function list(value: unknown, field: string, who: string, problems: Rejection[]): readonly unknown[] {
  if (!Array.isArray(value)) return problems.push({ object: who, field, reason: `${preview(value)} is not a list` }), [];
  if (value.length === 0 || value.length > MAX_ITEMS) return problems.push({ object: who, field, reason: `has ${value.length} items; must have 1-${MAX_ITEMS}` }), [];
  return value;
}

function parsePeer(value: unknown, at: string, direction: Direction, who: string, problems: Rejection[]): ClusterPeer[] {
  if (!isObj(value)) return problems.push({ object: who, field: at, reason: 'is not an object' }), [];
  const keys = presentKeys(value);
  // spec: a peer with no field knp knows is of a newer API version; it fails closed (and so does its rule)
  if (keys.length !== 1) return problems.push({ object: who, field: at, reason: `must set exactly one peer field (has ${keys.length === 0 ? 'none' : keys.map((k) => preview(k)).join(', ')})` }), [];
  const key = keys[0]!, field = `${at}.${key}`;
  if (direction === 'ingress' && key !== 'namespaces' && key !== 'pods') return problems.push({ object: who, field, reason: 'is not an ingress peer (namespaces or pods)' }), [];
  switch (key) {
    case 'namespaces': {
      const namespaceSelector = selector(value.namespaces, field, who, problems);
      return namespaceSelector ? [{ kind: 'pods', namespaceSelector, podSelector: MATCH_ALL }] : [];
    }
    case 'pods': {
      const pods = namespacedPod(value.pods, field, who, problems);
      return pods ? [{ kind: 'pods', ...pods }] : [];
    }
    case 'nodes': {
      const nodeSelector = selector(value.nodes, field, who, problems);
      return nodeSelector ? [{ kind: 'nodes', selector: nodeSelector }] : [];
    }
    case 'networks':
      return list(value.networks, field, who, problems).flatMap((text, i): IpBlockPeer[] => {
        // spec: a CIDR is at most 43 characters
        const cidr = typeof text === 'string' && text.length <= 43 ? parseCidr(text) : undefined;
        if (!cidr) return problems.push({ object: who, field: `${field}[${i}]`, reason: `${preview(text)} is not a CIDR` }), [];
        return [{ kind: 'ipBlock', cidr, except: [] }];
      });
    case 'domainNames':
      return problems.push({ object: who, field, reason: 'is not enforced by knp (it needs DNS interception)' }), [];
    default:
      return problems.push({ object: who, field, reason: 'is not a peer field knp knows' }), [];
  }
}

function parsePort(value: unknown, at: string, who: string, problems: Rejection[]): ClusterPort | undefined {
  if (!isObj(value)) return void problems.push({ object: who, field: at, reason: 'is not an object' });
  const keys = presentKeys(value);
  if (keys.length !== 1) return void problems.push({ object: who, field: at, reason: `must set exactly one of tcp, udp, sctp or destinationNamedPort (has ${keys.length === 0 ? 'none' : keys.map((k) => preview(k)).join(', ')})` });
  const key = keys[0]!, field = `${at}.${key}`;
  if (key === 'destinationNamedPort') {
    const name = value.destinationNamedPort;
    if (typeof name !== 'string' || !isPortName(name)) return void problems.push({ object: who, field, reason: `${preview(name)} is not a port name` });
    return { kind: 'named', name };
  }
  const protocol = PROTOCOL_KEYS[key];
  if (!protocol || !PROTOCOLS.includes(protocol)) return void problems.push({ object: who, field, reason: 'is not tcp, udp, sctp or destinationNamedPort' });
  const body = value[key];
  if (!isObj(body) || presentKeys(body).join() !== 'destinationPort') return void problems.push({ object: who, field, reason: 'must be an object with destinationPort (and nothing else)' });
  const port = body.destinationPort, portField = `${field}.destinationPort`;
  if (!isObj(port) || presentKeys(port).length !== 1) return void problems.push({ object: who, field: portField, reason: 'must set exactly one of number or range' });
  if (present(port.number)) {
    if (!isPort(port.number)) return void problems.push({ object: who, field: `${portField}.number`, reason: `${preview(port.number)} is not a port number 1-65535` });
    return { kind: 'number', protocol, port: port.number };
  }
  const range = port.range;
  if (!isObj(range)) return void problems.push({ object: who, field: `${portField}.${presentKeys(port)[0]}`, reason: 'is not number or range' });
  if (!isPort(range.start)) return void problems.push({ object: who, field: `${portField}.range.start`, reason: `${preview(range.start)} is not a port number 1-65535` });
  if (!isPort(range.end)) return void problems.push({ object: who, field: `${portField}.range.end`, reason: `${preview(range.end)} is not a port number 1-65535` });
  if (range.start >= range.end) return void problems.push({ object: who, field: `${portField}.range`, reason: `start ${range.start} is not less than end ${range.end}` });
  return { kind: 'number', protocol, port: range.start, endPort: range.end };
}

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
