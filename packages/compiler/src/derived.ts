import { matches, type Selector } from './selector.js';
import { isLive, type PodRecord } from './records.js';
import type { ParsedPolicy, PolicyRecord } from './policy.js';
import type { ClusterState } from './state.js';

/*
 * Indexes derived from state, memoised on the identity of immutable state parts. Immer's structural
 * sharing keeps every untouched shard identical, so after one event only the changed shard is recomputed.
 * These are caches of pure functions: same input, same output.
 */

type PodBucket = Readonly<Record<string, PodRecord>>;
type PolicyBucket = Readonly<Record<string, PolicyRecord>>;

const byNodeMemo = new WeakMap<PodBucket, ReadonlyMap<string, readonly PodRecord[]>>();
/** Live pods of one namespace, grouped by node. */
function liveByNode(bucket: PodBucket): ReadonlyMap<string, readonly PodRecord[]> {
  let out = byNodeMemo.get(bucket);
  if (!out) {
    const map = new Map<string, PodRecord[]>();
    for (const pod of Object.values(bucket)) if (isLive(pod)) (map.get(pod.node!) ?? map.set(pod.node!, []).get(pod.node!)!).push(pod);
    byNodeMemo.set(bucket, (out = map));
  }
  return out;
}

/** Live pods scheduled on `node`, sorted by uid. */
export function localPods(state: ClusterState, node: string): PodRecord[] {
  const out: PodRecord[] = [];
  for (const bucket of Object.values(state.pods)) out.push(...(liveByNode(bucket).get(node) ?? []));
  return out.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

/** Every node that has at least one pod scheduled (live or not), sorted. */
export function nodesOf(state: ClusterState): string[] {
  const nodes = new Set<string>();
  for (const bucket of Object.values(state.pods)) for (const pod of Object.values(bucket)) if (pod.node) nodes.add(pod.node);
  return [...nodes].sort();
}

const liveMemo = new WeakMap<PodBucket, readonly PodRecord[]>();
export function livePodsIn(bucket: PodBucket | undefined): readonly PodRecord[] {
  if (!bucket) return [];
  let out = liveMemo.get(bucket);
  if (!out) liveMemo.set(bucket, (out = Object.values(bucket).filter(isLive).sort((a, b) => (a.uid < b.uid ? -1 : 1))));
  return out;
}

const selectedMemo = new WeakMap<PodBucket, Map<string, readonly PodRecord[]>>();
/** Live pods of one namespace bucket that a pod selector selects. */
export function selectPods(bucket: PodBucket | undefined, selector: Selector): readonly PodRecord[] {
  if (!bucket) return [];
  let byKey = selectedMemo.get(bucket);
  if (!byKey) selectedMemo.set(bucket, (byKey = new Map()));
  let out = byKey.get(selector.key);
  if (!out) byKey.set(selector.key, (out = livePodsIn(bucket).filter((p) => matches(selector, p.labels))));
  return out;
}

const nsMemo = new WeakMap<ClusterState['namespaces'], Map<string, readonly string[]>>();
/** Names of the namespaces a namespace selector selects, sorted. */
export function selectNamespaces(state: ClusterState, selector: Selector): readonly string[] {
  let byKey = nsMemo.get(state.namespaces);
  if (!byKey) nsMemo.set(state.namespaces, (byKey = new Map()));
  let out = byKey.get(selector.key);
  if (!out) {
    const names = Object.values(state.namespaces)
      .filter((ns) => state.namespaceUids[ns.name] === ns.uid && matches(selector, ns.labels))
      .map((ns) => ns.name);
    byKey.set(selector.key, (out = names.sort()));
  }
  return out;
}

const policiesMemo = new WeakMap<PolicyBucket, readonly ParsedPolicy[]>();
/** The enforceable policies of one namespace, sorted by name. */
export function policiesIn(state: ClusterState, namespace: string): readonly ParsedPolicy[] {
  const bucket = state.policies[namespace];
  if (!bucket) return [];
  let out = policiesMemo.get(bucket);
  if (!out) {
    const list = Object.values(bucket).flatMap((p) => (p.parsed ? [p.parsed] : []));
    policiesMemo.set(bucket, (out = list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.uid < b.uid ? -1 : 1))));
  }
  return out;
}

/** Policies whose podSelector selects this pod (spec: policies only select pods in their own namespace). */
export function policiesSelecting(state: ClusterState, pod: PodRecord): readonly ParsedPolicy[] {
  return policiesIn(state, pod.namespace).filter((p) => matches(p.podSelector, pod.labels));
}

/** Every live pod in the cluster. */
export function allLivePods(state: ClusterState): PodRecord[] {
  return Object.values(state.pods).flatMap((bucket) => livePodsIn(bucket));
}
