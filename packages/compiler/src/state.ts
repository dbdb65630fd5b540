import type { NamespaceRecord, NodeRecord, PodRecord } from './records.js';
import type { ClusterPolicyRecord } from './cluster-policy.js';
import type { PolicyRecord } from './policy.js';
import { table, type Table } from './table.js';

/** A live pod's claim on an IP; when several live pods claim one IP, the newest pod owns it. */
export type IpClaim = { readonly uid: string; readonly namespace: string; readonly created: string };

/** A sync whose chunks are still arriving: the uids named so far. */
export type PendingSync = { readonly syncId: string; readonly chunks: number; readonly seen: readonly number[]; readonly uids: readonly string[] };

/** The newest event folded from one watcher key: its instance's start time and the counter within it. */
export type OriginMark = { readonly start: number; readonly counter: number };

/**
 * What the state knows about event signatures. `signed`: folded by a compiler that required signed events
 * (only such a state may be resumed by one, see snapshots); `origins`: per watcher key id, the newest event
 * folded (the replay guard, kept here so it survives snapshots); `synced`: kinds whose full sync completed
 * (the publish gate: a signed compiler publishes once every kind has one).
 */
export type EventTrustState = { readonly signed: boolean; readonly origins: Table<OriginMark>; readonly synced: Table<true> };

/**
 * Cluster state, keyed by UID. Shaped for immer: tables are sharded (pods and policies by namespace, IP
 * claims by a hash of the IP), so one event copies a small shard, never a 10,000-entry object. Every table
 * is a `Table` (no prototype): its keys are names, uids, IPs and kinds read from outside.
 */
export type ClusterState = {
  /** Identity of the events stream this state was folded from ('offline' for manifests). */
  readonly epoch: string;
  /** Stream sequence of the last event folded (0 when none). */
  readonly seq: number;
  /** uid -> namespace. */
  readonly namespaces: Table<NamespaceRecord>;
  /** name -> uid of the namespace currently holding that name. */
  readonly namespaceUids: Table<string>;
  /** namespace -> uid -> pod. */
  readonly pods: Table<Table<PodRecord>>;
  /** namespace -> uid -> policy. */
  readonly policies: Table<Table<PolicyRecord>>;
  /** uid -> node (cluster-scoped: one table, Nodes are few). */
  readonly nodes: Table<NodeRecord>;
  /** uid -> ClusterNetworkPolicy (cluster-scoped). */
  readonly clusterPolicies: Table<ClusterPolicyRecord>;
  /** ipShard(ip) -> ip -> claims. */
  readonly ipClaims: Table<Table<readonly IpClaim[]>>;
  /**
   * IPs claimed by more than one live pod (usually none), each with its claimants' uids: only these need
   * an ownership decision, and the value changes whenever the claimants do (caches compare it).
   */
  readonly conflictedIps: Table<string>;
  /** kind -> the sync of that kind whose chunks are still arriving. */
  readonly pendingSyncs: Table<PendingSync>;
  readonly trust: EventTrustState;
};

/** The state before any event; `signed` when it is to be folded from signed events only. */
export function emptyState(epoch = 'offline', signed = false): ClusterState {
  return {
    epoch, seq: 0, namespaces: table(), namespaceUids: table(), pods: table(), policies: table(), nodes: table(), clusterPolicies: table(), ipClaims: table(), conflictedIps: table(), pendingSyncs: table(),
    trust: { signed, origins: table(), synced: table() },
  };
}

/** The shard of the IP claim table an address lives in (256 shards keyed by a cheap string hash). */
export function ipShard(ip: string): string {
  let h = 0;
  for (let i = 0; i < ip.length; i++) h = (h * 31 + ip.charCodeAt(i)) & 0xff;
  return h.toString(16);
}

/** The uid of the live pod that owns `ip`: the newest claim (creationTimestamp, then uid) wins. */
export function ipOwner(state: ClusterState, ip: string): string | undefined {
  const claims = state.ipClaims[ipShard(ip)]?.[ip];
  if (!claims || claims.length === 0) return undefined;
  let best = claims[0]!;
  for (const c of claims) if (c.created > best.created || (c.created === best.created && c.uid > best.uid)) best = c;
  return best.uid;
}

/** A pod's addresses that it owns: an IP reused by a newer pod is no longer the old pod's. */
export function ownedIps(state: ClusterState, pod: PodRecord): readonly string[] {
  if (!pod.ips.some((ip) => state.conflictedIps[ip] !== undefined)) return pod.ips;
  return pod.ips.filter((ip) => ipOwner(state, ip) === pod.uid);
}
