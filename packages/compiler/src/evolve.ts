import { assertNever } from '@knp/shared';
import type { ClusterPolicyEvent, FoldEvent, NamespaceEvent, NodeEvent, PodEvent, PolicyEvent, SyncMarker } from './fold-event.js';
import { isLive, type PodRecord } from './records.js';
import { ipShard, type ClusterState, type IpClaim, type PendingSync } from './state.js';
import { StateWriter } from './state-writer.js';
import type { NamespaceRecord } from './records.js';
import type { PolicyRecord } from './policy.js';
import type { Table } from './table.js';

/*
 * The fold. It consumes typed events only (decoded at the edge: input/event.ts, manifests.ts) and never
 * parses. Every table it writes is a Table (no prototype), so a key read from outside is only ever a key.
 * Writes go through a StateWriter (copy-on-write: the input state is never modified, untouched shards stay
 * the same objects, which the compiler's memos rely on).
 */

/** Folds one event into cluster state (pure). */
export function evolve(state: ClusterState, event: FoldEvent): ClusterState {
  return evolveAll(state, [event]);
}

/** Folds a batch: each container on a written path is copied once per batch, not once per event. */
export function evolveAll(state: ClusterState, events: readonly FoldEvent[]): ClusterState {
  const w = new StateWriter(state);
  for (const event of events) apply(w, event);
  return w.finish();
}

function apply(w: StateWriter, event: FoldEvent): void {
  if (event.seq !== undefined) w.set(['seq'], event.seq);
  if (event.origin !== undefined) {
    const mark = w.get('trust', 'origins', event.origin.keyId) as { start: number; counter: number } | undefined;
    if (mark?.start !== event.origin.start || mark.counter !== event.origin.counter)
      w.set(['trust', 'origins', event.origin.keyId], { start: event.origin.start, counter: event.origin.counter });
  }
  if (event.op === 'sync') return applySync(w, event);
  switch (event.kind) {
    case 'Namespace': return applyNamespace(w, event);
    case 'Pod': return applyPod(w, event);
    case 'NetworkPolicy': return applyPolicy(w, event);
    case 'Node': return applyNode(w, event);
    case 'ClusterNetworkPolicy': return applyClusterPolicy(w, event);
    default: return assertNever(event);
  }
}

function applyNamespace(w: StateWriter, event: NamespaceEvent): void {
  if (event.op === 'delete') {
    w.delete(['namespaces', event.uid]);
    // a late delete of an old namespace must not unmap a newer one with the same name
    if (w.get('namespaceUids', event.name) === event.uid) w.delete(['namespaceUids', event.name]);
    return;
  }
  w.set(['namespaces', event.uid], event.record);
  w.set(['namespaceUids', event.name], event.uid);
}

function applyPod(w: StateWriter, event: PodEvent): void {
  const { namespace } = event;
  const old = w.get('pods', namespace, event.uid) as PodRecord | undefined;
  if (old) releaseClaims(w, old);
  if (event.op === 'delete') {
    if (old) {
      w.delete(['pods', namespace, event.uid]);
      if (isEmpty(w.get('pods', namespace) as object)) w.delete(['pods', namespace]);
    }
    return;
  }
  const pod = event.record;
  w.set(['pods', namespace, event.uid], pod);
  if (isLive(pod))
    for (const ip of pod.ips) {
      const shard = ipShard(ip);
      const claims = [...((w.get('ipClaims', shard, ip) as readonly IpClaim[] | undefined) ?? []), { uid: pod.uid, namespace, created: pod.created }];
      w.set(['ipClaims', shard, ip], claims);
      if (claims.length > 1) w.set(['conflictedIps', ip], claims.map((c) => c.uid).join(' '));
    }
}

function releaseClaims(w: StateWriter, pod: PodRecord): void {
  for (const ip of pod.ips) {
    const shard = ipShard(ip);
    const claims = w.get('ipClaims', shard, ip) as readonly IpClaim[] | undefined;
    if (!claims) continue;
    const kept = claims.filter((c) => c.uid !== pod.uid);
    if (kept.length === claims.length) continue;
    if (kept.length === 0) w.delete(['ipClaims', shard, ip]);
    else w.set(['ipClaims', shard, ip], kept);
    if (kept.length > 1) w.set(['conflictedIps', ip], kept.map((c) => c.uid).join(' '));
    else w.delete(['conflictedIps', ip]);
  }
}

function applyPolicy(w: StateWriter, event: PolicyEvent): void {
  const { namespace } = event;
  if (event.op === 'delete') {
    if (w.get('policies', namespace, event.uid) !== undefined) {
      w.delete(['policies', namespace, event.uid]);
      if (isEmpty(w.get('policies', namespace) as object)) w.delete(['policies', namespace]);
    }
    return;
  }
  w.set(['policies', namespace, event.uid], event.record);
}

function applyNode(w: StateWriter, event: NodeEvent): void {
  if (event.op === 'delete') w.delete(['nodes', event.uid]);
  else w.set(['nodes', event.uid], event.record);
}

function applyClusterPolicy(w: StateWriter, event: ClusterPolicyEvent): void {
  if (event.op === 'delete') w.delete(['clusterPolicies', event.uid]);
  else w.set(['clusterPolicies', event.uid], event.record);
}

/**
 * Once every chunk of a sync has arrived, objects of that kind it does not name are deleted. A chunk that
 * disagrees with the pending sync of the same id on the chunk count is ignored: counting it could complete
 * the sync early and delete objects named only in the chunks still to come.
 */
function applySync(w: StateWriter, event: SyncMarker): void {
  const pending = w.get('pendingSyncs', event.kind) as PendingSync | undefined;
  const current = pending && pending.syncId === event.syncId ? pending : { syncId: event.syncId, chunks: event.chunks, seen: [], uids: [] };
  if (current.chunks !== event.chunks || current.seen.includes(event.chunk)) return;
  const next = { ...current, seen: [...current.seen, event.chunk], uids: [...current.uids, ...event.uids] };
  if (next.seen.length < next.chunks) {
    w.set(['pendingSyncs', event.kind], next);
    return;
  }
  w.delete(['pendingSyncs', event.kind]);
  w.set(['trust', 'synced', event.kind], true);
  const state = w.state; // iterated as it stands now: the deletes below write a new state
  const live = new Set(next.uids);
  switch (event.kind) {
    case 'Namespace':
      for (const ns of Object.values(state.namespaces as Table<NamespaceRecord>))
        if (!live.has(ns.uid)) applyNamespace(w, { kind: 'Namespace', op: 'delete', uid: ns.uid, name: ns.name });
      return;
    case 'Pod':
      for (const [namespace, bucket] of Object.entries(state.pods))
        for (const pod of Object.values(bucket))
          if (!live.has(pod.uid)) applyPod(w, { kind: 'Pod', op: 'delete', uid: pod.uid, namespace, name: pod.name });
      return;
    case 'NetworkPolicy':
      for (const [namespace, bucket] of Object.entries(state.policies))
        for (const policy of Object.values(bucket as Table<PolicyRecord>))
          if (!live.has(policy.uid)) applyPolicy(w, { kind: 'NetworkPolicy', op: 'delete', uid: policy.uid, namespace, name: policy.name });
      return;
    case 'Node':
      for (const node of Object.values(state.nodes)) if (!live.has(node.uid)) applyNode(w, { kind: 'Node', op: 'delete', uid: node.uid, name: node.name });
      return;
    case 'ClusterNetworkPolicy':
      for (const policy of Object.values(state.clusterPolicies))
        if (!live.has(policy.uid)) applyClusterPolicy(w, { kind: 'ClusterNetworkPolicy', op: 'delete', uid: policy.uid, name: policy.name });
      return;
    default:
      return assertNever(event.kind);
  }
}

function isEmpty(t: object): boolean {
  return Object.keys(t).length === 0;
}
