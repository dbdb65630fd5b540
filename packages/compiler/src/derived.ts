import { matches, type Labels, type Selector } from './selector.js';
import { isLive, type PodRecord } from './records.js';
import type { ParsedPolicy, PolicyRecord } from './policy.js';
import type { ClusterState } from './state.js';
import type { Table } from './table.js';

/*
 * Indexes derived from state, memoised on the identity of immutable state parts. Immer's structural
 * sharing keeps every untouched shard identical, so after one event only the changed shard is recomputed.
 * These are caches of pure functions: same input, same output.
 */

type PodBucket = Table<PodRecord>;
type PolicyBucket = Table<PolicyRecord>;

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

type NodeIndex = ReadonlyMap<string, readonly PodRecord[]>;
const nodeIndexMemo = new WeakMap<ClusterState['pods'], NodeIndex>();
/** The pods table the newest index was built for: the next one is derived from it by the shards that differ. */
let lastIndexed: { readonly pods: ClusterState['pods']; readonly index: NodeIndex } | undefined;
const byUid = (a: PodRecord, b: PodRecord): number => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);

/** Live pods scheduled on `node`, sorted by uid (one index per pods table, built from the shards' own). */
export function localPods(state: ClusterState, node: string): readonly PodRecord[] {
  let index = nodeIndexMemo.get(state.pods);
  if (!index) {
    index = lastIndexed ? updatedIndex(lastIndexed.pods, lastIndexed.index, state.pods) : buildIndex(state.pods);
    nodeIndexMemo.set(state.pods, index);
    lastIndexed = { pods: state.pods, index };
  }
  return index.get(node) ?? [];
}

function buildIndex(pods: ClusterState['pods']): NodeIndex {
  const index = new Map<string, PodRecord[]>();
  for (const bucket of Object.values(pods))
    for (const [n, list] of liveByNode(bucket)) (index.get(n) ?? index.set(n, []).get(n)!).push(...list);
  for (const list of index.values()) list.sort(byUid);
  return index;
}

/**
 * The index of `pods` from the index of an earlier table: only nodes with pods in a namespace whose shard
 * changed are rebuilt (one event changes one shard), so following a stream never re-sorts the cluster.
 */
function updatedIndex(oldPods: ClusterState['pods'], old: NodeIndex, pods: ClusterState['pods']): NodeIndex {
  const changed = new Map<string, PodBucket | undefined>();
  for (const ns of Object.keys(pods)) if (oldPods[ns] !== pods[ns]) changed.set(ns, pods[ns]);
  for (const ns of Object.keys(oldPods)) if (pods[ns] === undefined) changed.set(ns, undefined);
  if (changed.size > 64) return buildIndex(pods);
  // nodes whose live pods of a changed namespace are not the very same records as before
  const nodes = new Set<string>();
  for (const [ns, bucket] of changed) {
    const before = oldPods[ns] ? liveByNode(oldPods[ns]) : undefined, after = bucket ? liveByNode(bucket) : undefined;
    for (const [n, list] of before ?? []) if (!sameItems(list, after?.get(n) ?? [])) nodes.add(n);
    for (const [n, list] of after ?? []) if (!sameItems(list, before?.get(n) ?? [])) nodes.add(n);
  }
  const index = new Map(old);
  for (const n of nodes) {
    const list = (old.get(n) ?? []).filter((p) => !changed.has(p.namespace));
    for (const bucket of changed.values()) if (bucket) list.push(...(liveByNode(bucket).get(n) ?? []));
    list.sort(byUid);
    if (list.length > 0) index.set(n, list);
    else index.delete(n);
  }
  return index;
}

const nodesMemo = new WeakMap<PodBucket, readonly string[]>();
/** Every node that has at least one pod scheduled (live or not), sorted. */
export function nodesOf(state: ClusterState): string[] {
  const nodes = new Set<string>();
  for (const bucket of Object.values(state.pods)) {
    let inBucket = nodesMemo.get(bucket);
    if (!inBucket) nodesMemo.set(bucket, (inBucket = [...new Set(Object.values(bucket).flatMap((p) => (p.node ? [p.node] : [])))]));
    for (const node of inBucket) nodes.add(node);
  }
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
/** The last answer per namespace and selector: reused while the same pod records are selected. */
const lastSelected = new Map<string, readonly PodRecord[]>();
const EMPTY: readonly PodRecord[] = [];

/**
 * Live pods of one namespace that a pod selector selects. When a namespace's shard changes but the
 * selection does not, the previous array is returned, so caches keyed on it stay valid.
 */
export function selectPods(state: ClusterState, namespace: string, selector: Selector): readonly PodRecord[] {
  const bucket = state.pods[namespace];
  if (!bucket) return EMPTY;
  let byKey = selectedMemo.get(bucket);
  if (!byKey) selectedMemo.set(bucket, (byKey = new Map()));
  let out = byKey.get(selector.key);
  if (!out) {
    const fresh = livePodsIn(bucket).filter((p) => matches(selector, p.labels));
    const lastKey = `${namespace}\0${selector.key}`;
    const last = lastSelected.get(lastKey);
    out = last && sameItems(last, fresh) ? last : fresh;
    if (lastSelected.size > 200_000) lastSelected.clear(); // a cache, not state: bound it
    lastSelected.set(lastKey, out);
    byKey.set(selector.key, out);
  }
  return out;
}

/** Same length and the very same objects in order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const NO_LABELS: Labels = Object.freeze(Object.create(null) as Labels);

/**
 * The labels a ClusterNetworkPolicy's namespace selector sees for a pod's namespace: its record's, or none
 * while the record is missing (the pod's event came first, or the Namespace's delete): `namespaces: {}` and
 * selectors of only NotIn / DoesNotExist still select its pods, so a Deny for every namespace never skips
 * them. Never undefined: skipping such a pod would open what the policy denies.
 */
export function clusterNamespaceLabels(state: ClusterState, namespace: string): Labels {
  return state.namespaces[state.namespaceUids[namespace] ?? '']?.labels ?? NO_LABELS;
}

/**
 * Names of the namespaces a namespace selector selects, sorted. `recordless` (ClusterNetworkPolicy peers):
 * also the namespaces of pods whose Namespace record is missing, when the selector matches no labels.
 */
export function selectNamespaces(state: ClusterState, selector: Selector, recordless = false): readonly string[] {
  const recorded = selectRecordedNamespaces(state, selector);
  if (!recordless || !matches(selector, NO_LABELS)) return recorded;
  const extra = Object.keys(state.pods).filter((ns) => state.namespaces[state.namespaceUids[ns] ?? ''] === undefined);
  return extra.length === 0 ? recorded : [...recorded, ...extra].sort();
}

const nsMemo = new WeakMap<ClusterState['namespaces'], Map<string, readonly string[]>>();
function selectRecordedNamespaces(state: ClusterState, selector: Selector): readonly string[] {
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
