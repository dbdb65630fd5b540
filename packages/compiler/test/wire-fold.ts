import type { Rejection } from '@knp/shared';
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

/** The wire event the watcher would publish for a manifest object (shared with the root tests). */
export { wireEvent } from '@knp/testing';
