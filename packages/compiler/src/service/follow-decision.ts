import type { Phase } from './compiler-state.js';

/** Where a pass stands when a message is consumed. */
export type FollowFacts = {
  readonly caughtUp: boolean;
  /** The stream's last sequence when the pass started: the backlog's exact end. */
  readonly backlogEnd: number;
  /** Events consumed while following and not evaluated yet, this one included. */
  readonly unevaluated: number;
  readonly maxBatchEvents: number;
};

/**
 * Whether a consumed message is the head of the stream. While catching up, the backlog's end is known
 * exactly. `pending` is an estimate (nats-server 2.9 sometimes counts a few messages too many for a
 * consumer started at a sequence, and the client counts its queued callbacks), so a head it misses while
 * following is found by the idle timer instead (`afterMessage`).
 */
export function isStreamHead(message: { readonly seq: number; readonly pending: number }, f: Pick<FollowFacts, 'caughtUp' | 'backlogEnd'>): boolean {
  return message.pending === 0 || (!f.caughtUp && message.seq >= f.backlogEnd);
}

/**
 * What the follow loop does after a message: `evaluate` now (the head, or a full batch while following),
 * `evaluate-when-idle` (following: if nothing follows soon, this was the head), or `read-on` (catching up).
 */
export type NextStep = 'evaluate' | 'evaluate-when-idle' | 'read-on';

export function afterMessage(message: { readonly seq: number; readonly pending: number }, f: FollowFacts): NextStep {
  if (isStreamHead(message, f) || (f.caughtUp && f.unevaluated >= f.maxBatchEvents)) return 'evaluate';
  return f.caughtUp ? 'evaluate-when-idle' : 'read-on';
}

/** The idle timer fired: evaluate if running (not stopping or starting over) and something was consumed since the last evaluation. */
export function isIdleEvaluationDue(f: { readonly phase: Phase; readonly consumedSeq: number; readonly evaluatedSeq: number }): boolean {
  return f.phase === 'running' && f.consumedSeq > f.evaluatedSeq;
}
