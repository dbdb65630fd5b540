import { assertNever, readEnvelope, type ObjectKind, type Rejection } from '@knp/shared';
import type { FoldEvent } from '../fold-event.js';
import type { NamespaceRecord, NodeRecord, PodRecord } from '../records.js';
import type { ClusterPolicyRecord } from '../cluster-policy.js';
import type { PolicyRecord } from '../policy.js';
import { readObject, type RecordOf } from './object.js';
import { isRecord, type ObjectId } from './read.js';

/**
 * The result of decoding one wire event: the typed event to fold, or none when it was skipped; and every
 * rejection, each naming object, field and reason (why it was skipped, or which fields of a kept object
 * were rejected). The caller counts and reports them with the event's stream sequence.
 */
export type Decoded = { readonly event: FoldEvent | undefined; readonly rejections: readonly Rejection[] };

/**
 * Decodes a wire event (a JSON value) once, whole, at the edge: the envelope (readEnvelope), then the object
 * of an added or modified event into its record (readObject). `seq` is the stream sequence it was read at.
 */
export function decodeEvent(value: unknown, seq?: number): Decoded {
  const envelope = readEnvelope(value);
  if (envelope.rejection) return { event: undefined, rejections: [envelope.rejection] };
  const e = envelope.event;
  const at = seq === undefined ? {} : { seq };
  if (e.op === 'sync') return { event: { op: 'sync', kind: e.kind, syncId: e.syncId, chunk: e.chunk, chunks: e.chunks, uids: e.uids, ...at }, rejections: [] };
  const id: ObjectId = { uid: e.uid, namespace: e.namespace, name: e.name };
  if (e.op === 'deleted') return { event: foldEvent(e.kind, id, undefined, at), rejections: [] };
  const mismatch = identityMismatch(e.kind, id, e.object);
  if (mismatch) return { event: undefined, rejections: [mismatch] };
  const read = readObject(e.kind, id, e.object);
  return { event: read.record ? foldEvent(e.kind, id, read.record, at) : undefined, rejections: read.rejections };
}

/** An object must be the one its envelope names: a metadata field that is present must agree. */
function identityMismatch(kind: ObjectKind, id: ObjectId, object: unknown): Rejection | undefined {
  const metadata = isRecord(object) && isRecord(object.metadata) ? object.metadata : {};
  for (const key of ['uid', 'name', 'namespace'] as const)
    if (metadata[key] !== undefined && metadata[key] !== id[key])
      return { object: `${kind} ${id.namespace === undefined ? '' : `${id.namespace}/`}${id.name}`, field: `object.metadata.${key}`, reason: `differs from the envelope's ${key}; event skipped` };
  return undefined;
}

/** The fold event for an object: an upsert with its record, or (no record) a delete. */
export function foldEvent(kind: ObjectKind, id: ObjectId, record: RecordOf<ObjectKind> | undefined, at: { readonly seq?: number } = {}): FoldEvent {
  switch (kind) {
    case 'Namespace':
      return { kind, uid: id.uid, name: id.name, ...(record ? { op: 'upsert', record: record as NamespaceRecord } : { op: 'delete' }), ...at };
    case 'Pod':
      return { kind, uid: id.uid, namespace: id.namespace!, name: id.name, ...(record ? { op: 'upsert', record: record as PodRecord } : { op: 'delete' }), ...at };
    case 'NetworkPolicy':
      return { kind, uid: id.uid, namespace: id.namespace!, name: id.name, ...(record ? { op: 'upsert', record: record as PolicyRecord } : { op: 'delete' }), ...at };
    case 'Node':
      return { kind, uid: id.uid, name: id.name, ...(record ? { op: 'upsert', record: record as NodeRecord } : { op: 'delete' }), ...at };
    case 'ClusterNetworkPolicy':
      return { kind, uid: id.uid, name: id.name, ...(record ? { op: 'upsert', record: record as ClusterPolicyRecord } : { op: 'delete' }), ...at };
    default:
      return assertNever(kind);
  }
}
