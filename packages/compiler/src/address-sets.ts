import { cidrContainsIp, formatCidr, parseIp, shortHash, type AddressSet, type Protocol } from '@knp/shared';
import { describeSelector, matches, type Selector } from './selector.js';
import { livePodsIn, sameItems, selectNamespaces, selectPods } from './derived.js';
import { ownedIps, type ClusterState } from './state.js';
import type { IpBlockPeer, Peer, PodPeer } from './policy.js';
import type { NodeRecord, PodRecord } from './records.js';
import type { NodesPeer } from './cluster-policy.js';

/*
 * Address sets are keyed by what selects their members (selector, namespace, ipBlock), never by the
 * members, so a pod coming or going changes a set's members and not its id. A set is described by a spec
 * (computed once per parsed policy) and materialised against a state; the result is cached across states
 * and reused while its inputs (the selected pod records and the IP conflict table) are the same objects.
 */

export type SetSpec =
  | { readonly kind: 'pods'; readonly id: string; readonly peer: PodPeer }
  | { readonly kind: 'cidr'; readonly id: string; readonly peer: IpBlockPeer }
  /** `protocol` absent: the name on any protocol (a ClusterNetworkPolicy destinationNamedPort). */
  | { readonly kind: 'pod-ports'; readonly id: string; readonly peer: Peer | 'any'; readonly name: string; readonly protocol: Protocol | undefined }
  | { readonly kind: 'nodes'; readonly id: string; readonly peer: NodesPeer };

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function podPeerKey(peer: PodPeer): unknown {
  return peer.namespaceSelector ? { nss: peer.namespaceSelector.key, ps: peer.podSelector.key } : { ns: peer.namespace, ps: peer.podSelector.key };
}

function blockKey(peer: IpBlockPeer): { cidr: string; except: string[] } {
  return { cidr: formatCidr(peer.cidr), except: [...new Set(peer.except.map(formatCidr))].sort(byText) };
}

export function podSetSpec(peer: PodPeer): SetSpec {
  return { kind: 'pods', id: `p${shortHash(podPeerKey(peer))}`, peer };
}

export function cidrSetSpec(peer: IpBlockPeer): SetSpec {
  return { kind: 'cidr', id: `c${shortHash(blockKey(peer))}`, peer };
}

export function nodesSetSpec(peer: NodesPeer): SetSpec {
  return { kind: 'nodes', id: `d${shortHash({ nodes: peer.selector.key })}`, peer };
}

export function podPortSetSpec(peer: Peer | 'any', name: string, protocol: Protocol | undefined): SetSpec {
  const peerKey = peer === 'any' ? 'any' : peer.kind === 'pods' ? podPeerKey(peer) : blockKey(peer);
  return { kind: 'pod-ports', id: `n${shortHash({ peer: peerKey, name, protocol })}`, peer, name, protocol };
}

function describePodPeer(peer: PodPeer): string {
  const pods = `pods {${describeSelector(peer.podSelector)}}`;
  return peer.namespaceSelector ? `namespaces {${describeSelector(peer.namespaceSelector)}} ${pods}` : `namespace ${peer.namespace} ${pods}`;
}

/** The selected pod records a set is built from, one array per namespace (identity-stable, see selectPods). */
function inputsOf(state: ClusterState, spec: SetSpec): readonly (readonly PodRecord[])[] {
  if (spec.kind === 'cidr' || spec.kind === 'nodes') return [];
  const peer = spec.peer;
  if (peer === 'any' || peer.kind === 'ipBlock') return Object.keys(state.pods).sort().map((ns) => livePodsIn(state.pods[ns]));
  const namespaces = peer.namespaceSelector ? selectNamespaces(state, peer.namespaceSelector) : [peer.namespace!];
  return namespaces.map((ns) => selectPods(state, ns, peer.podSelector));
}

type Cached = { readonly inputs: readonly (readonly PodRecord[])[]; readonly conflicts: ClusterState['conflictedIps']; readonly set: AddressSet };
const cache = new Map<string, Cached>();

const perState = new WeakMap<ClusterState, Map<string, AddressSet>>();

/** The set a spec describes in this state (pure: a cached result is reused only for identical inputs). */
export function materialize(state: ClusterState, spec: SetSpec): AddressSet {
  let sets = perState.get(state);
  if (!sets) perState.set(state, (sets = new Map()));
  let set = sets.get(spec.id);
  if (!set) sets.set(spec.id, (set = materializeAcrossStates(state, spec)));
  return set;
}

function materializeAcrossStates(state: ClusterState, spec: SetSpec): AddressSet {
  if (spec.kind === 'nodes') return nodesSet(state, spec.id, spec.peer.selector);
  const inputs = inputsOf(state, spec);
  const hit = cache.get(spec.id);
  if (hit && hit.conflicts === state.conflictedIps && hit.inputs.length === inputs.length && hit.inputs.every((a, i) => sameItems(a, inputs[i]!))) return hit.set;
  const set = build(state, spec, inputs);
  if (cache.size > 100_000) cache.clear(); // a cache, not state: bound it
  cache.set(spec.id, { inputs, conflicts: state.conflictedIps, set });
  return set;
}

function build(state: ClusterState, spec: SetSpec, inputs: readonly (readonly PodRecord[])[]): AddressSet {
  switch (spec.kind) {
    case 'cidr':
      return { kind: 'cidr', id: spec.id, ...blockKey(spec.peer) };
    case 'pods': {
      const ips = inputs.flatMap((pods) => pods.flatMap((pod) => ownedIps(state, pod)));
      return { kind: 'pods', id: spec.id, selector: describePodPeer(spec.peer), ips: [...new Set(ips)].sort(byText) };
    }
    case 'pod-ports':
      return podPortSet(state, spec, inputs);
    case 'nodes':
      return nodesSet(state, spec.id, spec.peer.selector);
  }
}

function inBlock(block: IpBlockPeer, ip: string): boolean {
  const parsed = parseIp(ip);
  return !!parsed && cidrContainsIp(block.cidr, parsed) && !block.except.some((e) => cidrContainsIp(e, parsed));
}

/**
 * Egress to a named port: for every pod the peer selects (all pods for an empty `to`, pods whose IP lies
 * in an ipBlock), its address with the port number that pod gives the name, for the matching protocol.
 */
function podPortSet(state: ClusterState, spec: Extract<SetSpec, { kind: 'pod-ports' }>, inputs: readonly (readonly PodRecord[])[]): AddressSet {
  const { peer, name, protocol } = spec;
  const entries: { ip: string; protocol: Protocol; port: number }[] = [];
  const seen = new Set<string>();
  for (const pod of inputs.flat()) {
    const ports = pod.ports.filter((p) => p.name === name && (protocol === undefined || p.protocol === protocol));
    if (ports.length === 0) continue;
    for (const ip of ownedIps(state, pod)) {
      if (peer !== 'any' && peer.kind === 'ipBlock' && !inBlock(peer, ip)) continue;
      for (const p of ports) {
        const key = `${ip}|${p.protocol}|${p.port}`;
        if (!seen.has(key)) entries.push({ ip, protocol: p.protocol, port: p.port }), seen.add(key);
      }
    }
  }
  entries.sort((a, b) => byText(a.ip, b.ip) || byText(a.protocol, b.protocol) || a.port - b.port);
  const what = peer === 'any' ? 'all pods' : peer.kind === 'pods' ? describePodPeer(peer) : `pods in ${formatCidr(peer.cidr)}`;
  return { kind: 'pod-ports', id: spec.id, selector: `${what} port ${name}${protocol === undefined ? '' : `/${protocol}`}`, entries };
}

type NodesCached = { readonly nodes: ClusterState['nodes']; readonly set: Extract<AddressSet, { kind: 'nodes' }> };
const nodesCache = new Map<string, NodesCached>();

/** spec: a `nodes` peer matches the IPs in status.addresses of the Nodes its selector selects; reused while the node table is the same. */
function nodesSet(state: ClusterState, id: string, selector: Selector): AddressSet {
  const hit = nodesCache.get(id);
  if (hit && hit.nodes === state.nodes) return hit.set;
  const ips = [...new Set(Object.values(state.nodes).filter((n: NodeRecord) => matches(selector, n.labels)).flatMap((n) => n.ips))].sort(byText);
  // a node update that leaves the members alone keeps the very same set (caches downstream compare it)
  const set = hit && sameItems(hit.set.ips, ips) ? hit.set : { kind: 'nodes' as const, id, selector: `nodes {${describeSelector(selector)}}`, ips };
  if (nodesCache.size > 10_000) nodesCache.clear(); // a cache, not state: bound it
  nodesCache.set(id, { nodes: state.nodes, set });
  return set;
}
