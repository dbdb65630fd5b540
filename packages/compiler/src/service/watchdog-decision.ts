import type { Phase } from './compiler-state.js';

/** How long the consumer may wait for a message, while the stream holds more, before it counts as stalled. */
export function stallThresholdMs(heartbeatMs: number): number {
  return Math.max(2 * heartbeatMs, 2_000);
}

export type StallFacts = {
  readonly phase: Phase;
  /** The follow loop is waiting for the consumer's next message. */
  readonly waiting: boolean;
  /** The consumer is being replaced already. */
  readonly reopening: boolean;
  readonly idleMs: number;
  readonly thresholdMs: number;
  readonly consumedSeq: number;
  /** The stream's last sequence; undefined until asked. */
  readonly lastSeq: number | undefined;
};

/**
 * Whether the events consumer stalled (stopped delivering while the stream holds more; the cure is a new
 * consumer after the last consumed message). Judged in two steps: a long wait is free to see, so only then
 * is the stream asked its last sequence, which tells a quiet stream (`fine`) from a stalled consumer.
 */
export type StallVerdict = 'fine' | 'ask-the-stream' | 'stalled';

export function consumerStall(f: StallFacts): StallVerdict {
  if (f.phase !== 'running' || !f.waiting || f.reopening || f.idleMs < f.thresholdMs) return 'fine';
  if (f.lastSeq === undefined) return 'ask-the-stream';
  return f.lastSeq > f.consumedSeq ? 'stalled' : 'fine';
}

/**
 * Whether to start over from scratch: the events stream now has another epoch (it was recreated) or none
 * (deleted). Once stopping or already starting over, nothing more to do.
 */
export function isNewEpoch(f: { readonly phase: Phase; readonly epoch: string; readonly current: string | undefined }): boolean {
  return f.phase === 'running' && f.current !== f.epoch;
}
