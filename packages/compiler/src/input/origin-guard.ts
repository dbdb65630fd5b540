import { WATCHED_KINDS, type ObjectKind, type Refusal, type SignedOrigin } from '@knp/shared';
import type { ClusterState, OriginMark } from '../state.js';

/**
 * The replay guard, per watcher key: an event is folded only if it is newer than the last one folded from
 * that key (same instance, higher counter) or comes from a newer instance (later start time). A captured
 * signed event, sync marker included, replayed later is refused: its counter is not newer, or its instance
 * is older than the newest seen. `marks` holds the newest origin per key id (seeded from the state's
 * `trust.origins`, moved on as events are accepted, before they are folded).
 */
export function judgeOrigin(last: OriginMark | undefined, origin: SignedOrigin): Refusal | undefined {
  if (last === undefined || origin.start > last.start) return undefined;
  if (origin.start < last.start)
    return { reason: 'replayed', detail: `key ${origin.keyId}: instance started ${origin.start} is older than the newest seen (${last.start})` };
  if (origin.counter <= last.counter)
    return { reason: 'replayed', detail: `key ${origin.keyId}: event ${origin.counter} is not newer than the last folded (${last.counter})` };
  return undefined;
}

/** Guard marks seeded from a state (a snapshot's or the empty one). */
export function guardMarks(state: ClusterState): Map<string, OriginMark> {
  return new Map(Object.entries(state.trust.origins));
}

/** Judges `origin` against `marks` and, when accepted, records it there. */
export function admitOrigin(marks: Map<string, OriginMark>, origin: SignedOrigin | undefined): Refusal | undefined {
  if (origin === undefined) return undefined;
  const refusal = judgeOrigin(marks.get(origin.keyId), origin);
  if (refusal === undefined) marks.set(origin.keyId, { start: origin.start, counter: origin.counter });
  return refusal;
}

/**
 * The publish gate. A compiler that requires signed events publishes only from a state folded from signed
 * events (`trust.signed`) in which a full sync of every kind completed: until then the state may lack
 * objects that only unsigned history (refused) described, and rules compiled from it could open or close
 * too much. The kinds still waiting for a sync; empty = open. An unsigned compiler is never gated.
 */
export function publishGate(signedMode: boolean, state: ClusterState): readonly ObjectKind[] {
  if (!signedMode) return [];
  if (!state.trust.signed) return WATCHED_KINDS;
  return WATCHED_KINDS.filter((k) => state.trust.synced[k] !== true);
}

/**
 * The state a pass resumes from a snapshot: `trust.signed` stays true only while signed events are required,
 * so a state that ever folded without the requirement is never taken for a signed one later (signing turned
 * off, then on again: the snapshots of the unsigned time are not resumed).
 */
export function resumeState(state: ClusterState, signedMode: boolean): ClusterState {
  return state.trust.signed && !signedMode ? { ...state, trust: { ...state.trust, signed: false } } : state;
}
