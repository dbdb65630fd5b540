import { cidrContainsIp, formatCidr, parseIp, shortHash, type AddressSet, type Protocol } from '@knp/shared';
import { describeSelector } from './selector.js';
import { allLivePods, selectNamespaces, selectPods } from './derived.js';
import { ownedIps, type ClusterState } from './state.js';
import type { IpBlockPeer, Peer, PodPeer } from './policy.js';
import type { PodRecord } from './records.js';

/*
 * Address sets are keyed by what selects their members (selector, namespace, ipBlock), never by the
 * members, so a pod coming or going changes a set's members and not its id. Sets are memoised per state.
 */

type SetCache = Map<string, AddressSet>;
const cacheMemo = new WeakMap<ClusterState, SetCache>();
function cacheFor(state: ClusterState): SetCache {
  let cache = cacheMemo.get(state);
  if (!cache) cacheMemo.set(state, (cache = new Map()));
  return cache;
}

function memo(state: ClusterState, id: string, build: () => AddressSet): AddressSet {
  const cache = cacheFor(state);
  let set = cache.get(id);
  if (!set) cache.set(id, (set = build()));
  return set;
}

function podPeerKey(peer: PodPeer): unknown {
  return peer.namespaceSelector ? { nss: peer.namespaceSelector.key, ps: peer.podSelector.key } : { ns: peer.namespace, ps: peer.podSelector.key };
}

function describePodPeer(peer: PodPeer): string {
  const pods = `pods {${describeSelector(peer.podSelector)}}`;
  return peer.namespaceSelector ? `namespaces {${describeSelector(peer.namespaceSelector)}} ${pods}` : `namespace ${peer.namespace} ${pods}`;
}

/** Live pods a pod peer selects: its namespace, or the namespaces its namespaceSelector selects. */
function podsOfPeer(state: ClusterState, peer: PodPeer): PodRecord[] {
  const namespaces = peer.namespaceSelector ? selectNamespaces(state, peer.namespaceSelector) : [peer.namespace!];
  return namespaces.flatMap((ns) => selectPods(state.pods[ns], peer.podSelector));
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The set of IPs of the pods a pod peer selects. */
export function podSet(state: ClusterState, peer: PodPeer): AddressSet {
  const id = `p${shortHash(podPeerKey(peer))}`;
  return memo(state, id, () => {
    const ips = podsOfPeer(state, peer).flatMap((pod) => ownedIps(state, pod));
    return { kind: 'pods', id, selector: describePodPeer(peer), ips: [...new Set(ips)].sort(byText) };
  });
}

/** The set of one ipBlock: its network minus its exceptions. */
export function cidrSet(state: ClusterState, peer: IpBlockPeer): AddressSet {
  const cidr = formatCidr(peer.cidr);
  const except = [...new Set(peer.except.map(formatCidr))].sort(byText);
  const id = `c${shortHash({ cidr, except })}`;
  return memo(state, id, () => ({ kind: 'cidr', id, cidr, except }));
}

function inBlock(block: IpBlockPeer, ip: string): boolean {
  const parsed = parseIp(ip);
  return !!parsed && cidrContainsIp(block.cidr, parsed) && !block.except.some((e) => cidrContainsIp(e, parsed));
}

/**
 * Egress to a named port: for every pod the peer selects (all pods for an empty `to`, pods whose IP lies
 * in an ipBlock), its address with the port number that pod gives the name, for the matching protocol.
 */
export function podPortSet(state: ClusterState, peer: Peer | 'any', name: string, protocol: Protocol): AddressSet {
  const peerKey = peer === 'any' ? 'any' : peer.kind === 'pods' ? podPeerKey(peer) : { cidr: formatCidr(peer.cidr), except: peer.except.map(formatCidr).sort(byText) };
  const id = `n${shortHash({ peer: peerKey, name, protocol })}`;
  return memo(state, id, () => {
    const pods = peer === 'any' || peer.kind === 'ipBlock' ? allLivePods(state) : podsOfPeer(state, peer);
    const entries: { ip: string; protocol: Protocol; port: number }[] = [];
    const seen = new Set<string>();
    for (const pod of pods) {
      const ports = pod.ports.filter((p) => p.name === name && p.protocol === protocol);
      if (ports.length === 0) continue;
      for (const ip of ownedIps(state, pod)) {
        if (peer !== 'any' && peer.kind === 'ipBlock' && !inBlock(peer, ip)) continue;
        for (const { port } of ports) {
          const key = `${ip}|${port}`;
          if (!seen.has(key)) entries.push({ ip, protocol, port }), seen.add(key);
        }
      }
    }
    entries.sort((a, b) => byText(a.ip, b.ip) || a.port - b.port);
    const what = peer === 'any' ? 'all pods' : peer.kind === 'pods' ? describePodPeer(peer) : `pods in ${formatCidr(peer.cidr)}`;
    return { kind: 'pod-ports', id, selector: `${what} port ${name}/${protocol}`, entries };
  });
}
