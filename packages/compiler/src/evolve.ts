import { castDraft, produce, type Draft } from 'immer';
import { assertNever } from '@knp/shared';
import type { ClusterPolicyEvent, FoldEvent, NamespaceEvent, NodeEvent, PodEvent, PolicyEvent, SyncMarker } from './fold-event.js';
import { isLive, type PodRecord } from './records.js';
import { ipShard, type ClusterState } from './state.js';
import { table } from './table.js';

/*
 * The fold. It consumes typed events only (decoded at the edge: input/event.ts, manifests.ts) and never
 * parses. Every table it writes is a Table (no prototype), so a key read from outside is only ever a key.
 */

/** Folds one event into cluster state (pure). */
export function evolve(state: ClusterState, event: FoldEvent): ClusterState {
  return produce(state, (draft) => apply(draft, event));
}

/** Folds a batch in one produce: replaying a long stream pays immer's copy-on-write once per batch. */
export function evolveAll(state: ClusterState, events: readonly FoldEvent[]): ClusterState {
  return produce(state, (draft) => {
    for (const event of events) apply(draft, event);
  });
}

function apply(draft: Draft<ClusterState>, event: FoldEvent): void {
  if (event.seq !== undefined) draft.seq = event.seq;
  if (event.origin !== undefined) draft.trust.origins[event.origin.keyId] = { start: event.origin.start, counter: event.origin.counter };
  if (event.op === 'sync') return applySync(draft, event);
  switch (event.kind) {
    case 'Namespace': return applyNamespace(draft, event);
    case 'Pod': return applyPod(draft, event);
    case 'NetworkPolicy': return applyPolicy(draft, event);
    case 'Node': return applyNode(draft, event);
    case 'ClusterNetworkPolicy': return applyClusterPolicy(draft, event);
    default: return assertNever(event);
  }
}

function applyNamespace(draft: Draft<ClusterState>, event: NamespaceEvent): void {
  if (event.op === 'delete') {
    delete draft.namespaces[event.uid];
    // a late delete of an old namespace must not unmap a newer one with the same name
    if (draft.namespaceUids[event.name] === event.uid) delete draft.namespaceUids[event.name];
    return;
  }
  draft.namespaces[event.uid] = castDraft(event.record);
  draft.namespaceUids[event.name] = event.uid;
}

function applyPod(draft: Draft<ClusterState>, event: PodEvent): void {
  const { namespace } = event;
  const bucket = draft.pods[namespace];
  const old = bucket?.[event.uid] as PodRecord | undefined;
  if (old) releaseClaims(draft, old);
  if (event.op === 'delete') {
    if (bucket) {
      delete bucket[event.uid];
      if (isEmpty(bucket)) delete draft.pods[namespace];
    }
    return;
  }
  const pod = event.record;
  (draft.pods[namespace] ??= table())[event.uid] = castDraft(pod);
  if (isLive(pod))
    for (const ip of pod.ips) {
      const shard = (draft.ipClaims[ipShard(ip)] ??= table());
      const claims = (shard[ip] ??= []);
      claims.push({ uid: pod.uid, namespace, created: pod.created });
      if (claims.length > 1) draft.conflictedIps[ip] = claims.map((c) => c.uid).join(' ');
    }
}

function releaseClaims(draft: Draft<ClusterState>, pod: PodRecord): void {
  for (const ip of pod.ips) {
    const shard = draft.ipClaims[ipShard(ip)];
    const claims = shard?.[ip];
    if (!shard || !claims) continue;
    const kept = claims.filter((c) => c.uid !== pod.uid);
    if (kept.length === claims.length) continue;
    if (kept.length === 0) delete shard[ip];
    else shard[ip] = kept;
    if (kept.length > 1) draft.conflictedIps[ip] = kept.map((c) => c.uid).join(' ');
    else if (draft.conflictedIps[ip] !== undefined) delete draft.conflictedIps[ip];
  }
}

function applyPolicy(draft: Draft<ClusterState>, event: PolicyEvent): void {
  const { namespace } = event;
  if (event.op === 'delete') {
    const bucket = draft.policies[namespace];
    if (bucket) {
      delete bucket[event.uid];
      if (isEmpty(bucket)) delete draft.policies[namespace];
    }
    return;
  }
  (draft.policies[namespace] ??= table())[event.uid] = castDraft(event.record);
}

function applyNode(draft: Draft<ClusterState>, event: NodeEvent): void {
  if (event.op === 'delete') delete draft.nodes[event.uid];
  else draft.nodes[event.uid] = castDraft(event.record);
}

function applyClusterPolicy(draft: Draft<ClusterState>, event: ClusterPolicyEvent): void {
  if (event.op === 'delete') delete draft.clusterPolicies[event.uid];
  else draft.clusterPolicies[event.uid] = castDraft(event.record);
}

/**
 * Once every chunk of a sync has arrived, objects of that kind it does not name are deleted. A chunk that
 * disagrees with the pending sync of the same id on the chunk count is ignored: counting it could complete
 * the sync early and delete objects named only in the chunks still to come.
 */
function applySync(draft: Draft<ClusterState>, event: SyncMarker): void {
  const pending = draft.pendingSyncs[event.kind];
  const current = pending && pending.syncId === event.syncId ? pending : { syncId: event.syncId, chunks: event.chunks, seen: [], uids: [] };
  if (current.chunks !== event.chunks || current.seen.includes(event.chunk)) return;
  const next = { ...current, seen: [...current.seen, event.chunk], uids: [...current.uids, ...event.uids] };
  if (next.seen.length < next.chunks) {
    draft.pendingSyncs[event.kind] = next;
    return;
  }
  delete draft.pendingSyncs[event.kind];
  draft.trust.synced[event.kind] = true;
  const live = new Set(next.uids);
  switch (event.kind) {
    case 'Namespace':
      for (const ns of Object.values(draft.namespaces))
        if (!live.has(ns.uid)) applyNamespace(draft, { kind: 'Namespace', op: 'delete', uid: ns.uid, name: ns.name });
      return;
    case 'Pod':
      for (const [namespace, bucket] of Object.entries(draft.pods))
        for (const pod of Object.values(bucket))
          if (!live.has(pod.uid)) applyPod(draft, { kind: 'Pod', op: 'delete', uid: pod.uid, namespace, name: pod.name });
      return;
    case 'NetworkPolicy':
      for (const [namespace, bucket] of Object.entries(draft.policies))
        for (const policy of Object.values(bucket))
          if (!live.has(policy.uid)) applyPolicy(draft, { kind: 'NetworkPolicy', op: 'delete', uid: policy.uid, namespace, name: policy.name });
      return;
    case 'Node':
      for (const node of Object.values(draft.nodes)) if (!live.has(node.uid)) applyNode(draft, { kind: 'Node', op: 'delete', uid: node.uid, name: node.name });
      return;
    case 'ClusterNetworkPolicy':
      for (const policy of Object.values(draft.clusterPolicies))
        if (!live.has(policy.uid)) applyClusterPolicy(draft, { kind: 'ClusterNetworkPolicy', op: 'delete', uid: policy.uid, name: policy.name });
      return;
    default:
      return assertNever(event.kind);
  }
}

function isEmpty(t: object): boolean {
  return Object.keys(t).length === 0;
}
