import { EVENT_SCHEMA, checkSchema } from './schema.js';
import { shortHash } from './canonical.js';

export type ObjectKind = 'Pod' | 'Namespace' | 'NetworkPolicy';
export const OBJECT_KINDS: readonly ObjectKind[] = ['Namespace', 'Pod', 'NetworkPolicy'];

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

/** Validates the envelope of a decoded message (not the object inside, which the compiler parses). */
export function parseEvent(value: unknown): ClusterEvent {
  checkSchema('event', value, EVENT_SCHEMA);
  const e = value as Record<string, unknown>;
  if (!['Pod', 'Namespace', 'NetworkPolicy'].includes(e.kind as string)) throw new Error(`event: unknown kind ${JSON.stringify(e.kind)}`);
  if (!['added', 'modified', 'deleted', 'sync'].includes(e.op as string)) throw new Error(`event: unknown op ${JSON.stringify(e.op)}`);
  if (e.op !== 'sync' && (typeof e.uid !== 'string' || typeof e.name !== 'string'))
    throw new Error(`event: ${String(e.kind)} event without uid or name`);
  return value as ClusterEvent;
}

/** Hand-written manifests have no uid: derive a stable one from kind/namespace/name. */
export function manifestUid(kind: ObjectKind, namespace: string | undefined, name: string): string {
  return `manifest-${shortHash(`${kind}/${namespace ?? ''}/${name}`, 24)}`;
}
