import { castDraft, produce, type Draft } from 'immer';
import { assertNever, type ClusterEvent, type ObjectEvent, type SyncEvent } from '@knp/shared';
import { isLive, namespaceRecord, podRecord, type PodRecord } from './records.js';
import { parsePolicy } from './policy.js';
import { ipShard, type ClusterState } from './state.js';

/** Folds one event into cluster state (pure). */
export function evolve(state: ClusterState, event: ClusterEvent): ClusterState {
  return produce(state, (draft) => apply(draft, event));
}

/** Folds a batch in one produce: replaying a long stream pays immer's copy-on-write once per batch. */
export function evolveAll(state: ClusterState, events: readonly ClusterEvent[]): ClusterState {
  return produce(state, (draft) => {
    for (const event of events) apply(draft, event);
  });
}

function apply(draft: Draft<ClusterState>, event: ClusterEvent): void {
  if (event.seq !== undefined) draft.seq = event.seq;
  if (event.op === 'sync') return applySync(draft, event);
  switch (event.kind) {
    case 'Namespace': return applyNamespace(draft, event);
    case 'Pod': return applyPod(draft, event);
    case 'NetworkPolicy': return applyPolicy(draft, event);
    default: return assertNever(event.kind);
  }
}

function applyNamespace(draft: Draft<ClusterState>, event: ObjectEvent): void {
  if (event.op === 'deleted') {
    delete draft.namespaces[event.uid];
    // a late delete of an old namespace must not unmap a newer one with the same name
    if (draft.namespaceUids[event.name] === event.uid) delete draft.namespaceUids[event.name];
    return;
  }
  draft.namespaces[event.uid] = namespaceRecord(event.uid, event.name, event.object);
  draft.namespaceUids[event.name] = event.uid;
}

function applyPod(draft: Draft<ClusterState>, event: ObjectEvent): void {
  const namespace = event.namespace ?? '';
  const bucket = draft.pods[namespace];
  const old = bucket?.[event.uid] as PodRecord | undefined;
  if (old) releaseClaims(draft, old);
  if (event.op === 'deleted') {
    if (bucket) {
      delete bucket[event.uid];
      if (Object.keys(bucket).length === 0) delete draft.pods[namespace];
    }
    return;
  }
  const pod = podRecord(event.uid, namespace, event.name, event.object);
  (draft.pods[namespace] ??= {})[event.uid] = castDraft(pod);
  if (isLive(pod))
    for (const ip of pod.ips) {
      const shard = (draft.ipClaims[ipShard(ip)] ??= {});
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

function applyPolicy(draft: Draft<ClusterState>, event: ObjectEvent): void {
  const namespace = event.namespace ?? '';
  if (event.op === 'deleted') {
    const bucket = draft.policies[namespace];
    if (bucket) {
      delete bucket[event.uid];
      if (Object.keys(bucket).length === 0) delete draft.policies[namespace];
    }
    return;
  }
  (draft.policies[namespace] ??= {})[event.uid] = castDraft(parsePolicy(event.uid, namespace, event.name, event.object));
}

/** Once every chunk of a sync has arrived, objects of that kind it does not name are deleted. */
function applySync(draft: Draft<ClusterState>, event: SyncEvent): void {
  const pending = draft.pendingSyncs[event.kind];
  const current = pending && pending.syncId === event.syncId ? pending : { syncId: event.syncId, chunks: event.chunks, seen: [], uids: [] };
  if (current.seen.includes(event.chunk)) return;
  const next = { ...current, seen: [...current.seen, event.chunk], uids: [...current.uids, ...event.uids] };
  if (next.seen.length < next.chunks) {
    draft.pendingSyncs[event.kind] = next;
    return;
  }
  delete draft.pendingSyncs[event.kind];
  const live = new Set(next.uids);
  switch (event.kind) {
    case 'Namespace':
      for (const ns of Object.values(draft.namespaces))
        if (!live.has(ns.uid)) applyNamespace(draft, { ...tombstone(event), kind: 'Namespace', uid: ns.uid, name: ns.name });
      return;
    case 'Pod':
      for (const [namespace, bucket] of Object.entries(draft.pods))
        for (const pod of Object.values(bucket))
          if (!live.has(pod.uid)) applyPod(draft, { ...tombstone(event), kind: 'Pod', uid: pod.uid, namespace, name: pod.name });
      return;
    case 'NetworkPolicy':
      for (const [namespace, bucket] of Object.entries(draft.policies))
        for (const policy of Object.values(bucket))
          if (!live.has(policy.uid)) applyPolicy(draft, { ...tombstone(event), kind: 'NetworkPolicy', uid: policy.uid, namespace, name: policy.name });
      return;
    default:
      return assertNever(event.kind);
  }
}

function tombstone(event: SyncEvent) {
  return { schema: event.schema, op: 'deleted' as const, resourceVersion: event.resourceVersion };
}
