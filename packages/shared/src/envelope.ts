import { EVENT_SCHEMA, checkSchema } from './schema.js';
import { shortHash } from './canonical.js';
import { formatRejection, type Rejection } from './rejection.js';
import { isDnsLabel, isDnsSubdomain, isResourceVersion, isSyncId, isUid, preview } from './api-strings.js';

export type ObjectKind = 'Pod' | 'Namespace' | 'NetworkPolicy' | 'Node' | 'ClusterNetworkPolicy';
export const OBJECT_KINDS: readonly ObjectKind[] = ['Namespace', 'Pod', 'NetworkPolicy', 'Node', 'ClusterNetworkPolicy'];

/**
 * The kinds the watcher lists, watches and syncs; the publish gate waits for a full sync of each. Without
 * the ClusterNetworkPolicy CRD the watcher publishes an empty sync of that kind, so the gate still opens.
 */
export type WatchedKind = ObjectKind;
export const WATCHED_KINDS: readonly WatchedKind[] = ['Namespace', 'Pod', 'NetworkPolicy', 'Node', 'ClusterNetworkPolicy'];

/** Kinds in no namespace: their events carry no `namespace`. */
export const CLUSTER_SCOPED_KINDS: readonly ObjectKind[] = ['Namespace', 'Node', 'ClusterNetworkPolicy'];
export const isClusterScoped = (kind: ObjectKind): boolean => CLUSTER_SCOPED_KINDS.includes(kind);

/**
 * What the watcher publishes and the compiler folds. `object` holds the trimmed API object (what the
 * compiler needs); for a deletion, the last state seen. `seq` is not published: the consumer sets it from
 * the stream's metadata so state knows which sequence it reflects.
 */
export type ObjectEvent = {
  readonly schema: typeof EVENT_SCHEMA;
  readonly op: 'added' | 'modified' | 'deleted';
  readonly kind: ObjectKind;
  readonly uid: string;
  readonly namespace?: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly object?: unknown;
  readonly seq?: number;
};

/**
 * After every list the watcher names the live objects of a kind, in chunks; once all chunks of a sync have
 * been folded, objects of that kind not named (deleted while nobody watched) are deleted.
 */
export type SyncEvent = {
  readonly schema: typeof EVENT_SCHEMA;
  readonly op: 'sync';
  readonly kind: ObjectKind;
  readonly resourceVersion: string;
  readonly syncId: string;
  readonly chunk: number;
  readonly chunks: number;
  readonly uids: readonly string[];
  readonly seq?: number;
};

export type ClusterEvent = ObjectEvent | SyncEvent;

/** Bounds of a sync marker (the watcher sends at most 8,000 uids per chunk). */
export const MAX_SYNC_CHUNKS = 100_000;
export const MAX_SYNC_UIDS = 100_000;

/** An envelope read whole, or why it cannot be: the object, field and reason (bounded text). */
export type EnvelopeRead = { readonly event: ClusterEvent; readonly rejection?: undefined } | { readonly event?: undefined; readonly rejection: Rejection };

const OPS: readonly string[] = ['added', 'modified', 'deleted', 'sync'];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKind = (v: unknown): v is ObjectKind => typeof v === 'string' && (OBJECT_KINDS as readonly string[]).includes(v);
const isIndex = (v: unknown, below: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < below;

/**
 * Reads the envelope of a decoded message, every field typed and bounded, into a fresh value (nothing else
 * of the input is carried, except a non-deleted event's `object`, which the compiler reads). A sync marker
 * must be whole; an object event needs a valid uid, name (DNS-1123 label for a Namespace, subdomain else)
 * and, except for a cluster-scoped kind (Namespace, Node, ClusterNetworkPolicy), namespace (DNS-1123 label); an added or modified one an object.
 */
export function readEnvelope(value: unknown): EnvelopeRead {
  const skip = (object: string, field: string, reason: string): EnvelopeRead => ({ rejection: { object, field, reason } });
  if (!isRecord(value)) return skip('event', '', `${preview(value)} is not an event object`);
  if (value.schema !== EVENT_SCHEMA) return skip('event', 'schema', `${preview(value.schema)} is not ${EVENT_SCHEMA}`);
  const { op, kind } = value;
  if (!isKind(kind)) return skip('event', 'kind', `${preview(kind)} is not one of ${OBJECT_KINDS.join(', ')}`);
  if (typeof op !== 'string' || !OPS.includes(op)) return skip(kind, 'op', `${preview(op)} is not one of ${OPS.join(', ')}`);
  if (!isResourceVersion(value.resourceVersion)) return skip(kind, 'resourceVersion', `${preview(value.resourceVersion)} is not a resourceVersion`);
  const resourceVersion = value.resourceVersion;
  if (op === 'sync') {
    const { syncId, chunk, chunks, uids } = value;
    const what = `${kind} sync`;
    if (!isSyncId(syncId)) return skip(what, 'syncId', `${preview(syncId)} is not a sync id`);
    if (!isIndex(chunks, MAX_SYNC_CHUNKS + 1) || chunks < 1) return skip(what, 'chunks', `${preview(chunks)} is not an integer 1-${MAX_SYNC_CHUNKS}`);
    if (!isIndex(chunk, chunks)) return skip(what, 'chunk', `${preview(chunk)} is not an integer 0-${chunks - 1}`);
    if (!Array.isArray(uids) || uids.length > MAX_SYNC_UIDS) return skip(what, 'uids', `${preview(uids)} is not a list of at most ${MAX_SYNC_UIDS} uids`);
    for (let i = 0; i < uids.length; i++) if (!isUid(uids[i])) return skip(what, `uids[${i}]`, `${preview(uids[i])} is not a uid; the marker is not whole`);
    const event: SyncEvent = { schema: EVENT_SCHEMA, op, kind, resourceVersion, syncId, chunk, chunks, uids: uids.slice() as string[] };
    return { event };
  }
  const { uid, name, namespace, object } = value;
  // the object named for a rejection (only when there is one: previews cost more than the checks)
  const what = (): string => `${kind} ${namespace === undefined ? '' : `${preview(namespace)}/`}${preview(name)}`;
  if (!isUid(uid)) return skip(what(), 'uid', `${preview(uid)} is not a uid`);
  if (kind === 'Namespace' ? !isDnsLabel(name) : !isDnsSubdomain(name))
    return skip(what(), 'name', `${preview(name)} is not a DNS-1123 ${kind === 'Namespace' ? 'label' : 'subdomain'}`);
  if (isClusterScoped(kind) ? namespace !== undefined : !isDnsLabel(namespace))
    return skip(what(), 'namespace', isClusterScoped(kind) ? `a ${kind} is in no namespace` : `${preview(namespace)} is not a DNS-1123 label`);
  if (op !== 'deleted' && !isRecord(object)) return skip(what(), 'object', `${preview(object)} is not an object`);
  const event: ObjectEvent = {
    schema: EVENT_SCHEMA, op: op as ObjectEvent['op'], kind, uid, name: name as string, resourceVersion,
    ...(namespace !== undefined ? { namespace: namespace as string } : {}), ...(object !== undefined ? { object } : {}),
  };
  return { event };
}

/** Validates the envelope of a decoded message (see readEnvelope) and throws when it cannot be read whole. */
export function parseEvent(value: unknown): ClusterEvent {
  checkSchema('event', value, EVENT_SCHEMA);
  const read = readEnvelope(value);
  if (read.rejection) throw new Error(`event: ${formatRejection(read.rejection)}`);
  return read.event;
}

/** Hand-written manifests have no uid: derive a stable one from kind/namespace/name. */
export function manifestUid(kind: ObjectKind, namespace: string | undefined, name: string): string {
  return `manifest-${shortHash(`${kind}/${namespace ?? ''}/${name}`, 24)}`;
}
