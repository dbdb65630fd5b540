import type { RuleSet } from '@knp/shared';
import type { FoldEvent } from '../fold-event.js';
import { evolveAll } from '../evolve.js';
import { guardMarks } from '../input/origin-guard.js';
import type { ClusterState, OriginMark } from '../state.js';
import type { Consumed } from './event-source.js';
import type { RulesStore } from './rules-store.js';

/**
 * Events folded per immer produce while reading a backlog. A produce costs about as much as the part of the
 * state it touches, and a large chunk touches all of it, so bigger chunks fold faster (pod label changes on
 * the 10k-pod bench state: 20,000 -> 21k, 50,000 -> 34k, 100,000 -> 42k events/s); 50,000 parsed events
 * hold ~150 MiB while they are folded.
 */
export const FOLD_CHUNK = 50_000;

/** An event consumed while following, with its arrival time (for the evaluation's latencies) and the watcher's receive time, if known. */
export type Arrival = { readonly event: FoldEvent; readonly arrivedAt: number; readonly receivedAtMs: number | undefined };

/**
 * One pass over the events stream: from the newest snapshot of its epoch (or the start), through the
 * backlog, then following. A new pass starts from a new Session, so nothing of the last one leaks into it.
 */
export type Session = {
  readonly epoch: string;
  readonly rules: RulesStore;
  /** The sequence the pass started after (the snapshot's, or 0). */
  readonly startedFromSeq: number;
  /** The stream's last sequence when the pass started: the backlog's exact end. */
  readonly backlogEnd: number;
  /** Folded so far; `unfolded` events wait to be folded into it, FOLD_CHUNK at a time or at an evaluation. */
  state: ClusterState;
  unfolded: FoldEvent[];
  consumedSeq: number;
  /** Events since the last evaluation: timed while following, only counted while catching up. */
  arrivals: Arrival[];
  backlogCount: number;
  /** The state and consumed sequence the last evaluation covered. */
  evaluatedState: ClusterState;
  evaluatedSeq: number;
  /** The backlog was folded and evaluated once. */
  caughtUp: boolean;
  /** Per node, the rule set this replica holds as current; and the nodes to compile again at the next evaluation. */
  readonly view: Map<string, RuleSet>;
  readonly dirty: Set<string>;
  lastSnapshotSeq: number;
  lastSnapshotAt: number;
  /** The replay guard: per watcher key, the newest origin accepted (folded or waiting to be). */
  readonly marks: Map<string, OriginMark>;
  /** The last evaluation published nothing: the publish gate was closed (see publishGate). */
  gated: boolean;
};

/** A pass starting from `state` (a snapshot's, or the empty state of `epoch`), at time `now`. */
export function newSession(epoch: string, rules: RulesStore, state: ClusterState, backlogEnd: number, now: number): Session {
  return {
    epoch, rules, startedFromSeq: state.seq, backlogEnd,
    state, unfolded: [], consumedSeq: state.seq, arrivals: [], backlogCount: 0,
    evaluatedState: state, evaluatedSeq: state.seq, caughtUp: false,
    view: new Map(), dirty: new Set(), lastSnapshotSeq: state.seq, lastSnapshotAt: now,
    marks: guardMarks(state), gated: false,
  };
}

/** Folds the events waiting to be folded. */
export function fold(s: Session): void {
  if (s.unfolded.length === 0) return;
  s.state = evolveAll(s.state, s.unfolded);
  s.unfolded = [];
}

/**
 * Takes one consumed message in, `event` being what admission let through of it (refused, unreadable ones
 * and parts of large events only move `consumedSeq`).
 */
export function consume(s: Session, consumed: Pick<Consumed, 'seq' | 'receivedAtMs'>, event: FoldEvent | undefined, now: number): void {
  s.consumedSeq = consumed.seq;
  if (!event) return;
  s.unfolded.push(event);
  if (s.caughtUp) s.arrivals.push({ event, arrivedAt: now, receivedAtMs: consumed.receivedAtMs });
  else s.backlogCount += 1;
  if (s.unfolded.length >= FOLD_CHUNK) fold(s);
}

/** What one evaluation covers: the state folded now, the sequence consumed, and the events since the last one. */
export type EvaluationInput = { readonly at: ClusterState; readonly coveredSeq: number; readonly arrivals: readonly Arrival[]; readonly backlog: number };

/**
 * Folds and takes what the next evaluation covers. Taken before it awaits anything: messages consumed
 * meanwhile belong to the evaluation after it, and a snapshot taken meanwhile may move `state` on.
 */
export function takeEvaluationInput(s: Session): EvaluationInput {
  fold(s);
  const input = { at: s.state, coveredSeq: s.consumedSeq, arrivals: s.arrivals, backlog: s.backlogCount };
  s.arrivals = [];
  s.backlogCount = 0;
  return input;
}
