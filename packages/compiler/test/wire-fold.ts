import { manifestUid, type ObjectKind, type Rejection } from '@knp/shared';
import { decodeEvent, emptyState, evolve, eventsFromObjects, evolveAll, type ClusterState } from '../src/index.js';

/*
 * How the compiler service turns wire values into state, for tests: decode each message once, fold what
 * decodes (the service's event source and fold, without NATS).
 */

export type Decoded = { readonly kept: boolean; readonly rejections: readonly Rejection[] };

export function decodeWire(value: unknown): Decoded {
  const { event, rejections } = decodeEvent(value);
  return { kept: event !== undefined, rejections };
}

/** Folds wire values in order, as the service does (each at the next sequence); undecodable ones are skipped. */
export function foldWire(values: readonly unknown[], state: ClusterState = emptyState()): ClusterState {
  let seq = state.seq;
  for (const value of values) {
    const { event } = decodeEvent(value, (seq += 1));
    if (event) state = evolve(state, event);
  }
  return state;
}

/** Folds manifest objects (the `knp compile --manifests` path); objects it cannot use are skipped. */
export function foldObjects(objects: readonly unknown[]): ClusterState {
  return evolveAll(emptyState(), eventsFromObjects(objects).events);
}

const KINDS: readonly string[] = ['Namespace', 'Pod', 'NetworkPolicy'];

/** The wire event the watcher would publish for a manifest object (uid derived as the manifest path does). */
export function wireEvent(object: unknown, op: 'added' | 'modified' | 'deleted' = 'added'): Record<string, unknown> {
  const o = object as { kind: ObjectKind; metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string } };
  if (!KINDS.includes(o.kind)) throw new Error(`wireEvent: ${String(o.kind)}`);
  const namespace = o.kind === 'Namespace' ? undefined : (o.metadata.namespace ?? 'default');
  const uid = o.metadata.uid ?? manifestUid(o.kind, namespace, o.metadata.name);
  const metadata = { ...o.metadata, uid, ...(namespace !== undefined ? { namespace } : {}) };
  return {
    schema: 1, op, kind: o.kind, uid, ...(namespace !== undefined ? { namespace } : {}), name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion ?? '1', object: { ...(object as object), metadata },
  };
}
