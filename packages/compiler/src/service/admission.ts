import type { Logger, Refusal, RefusalReason, Rejection } from '@knp/shared';
import type { FoldEvent } from '../fold-event.js';
import { admitOrigin } from '../input/origin-guard.js';
import type { OriginMark } from '../state.js';
import type { Consumed } from './event-source.js';

/** Input problems kept for the status record: the newest few, each with the stream sequence it came at. */
export const RECENT_INPUT_PROBLEMS = 10;
/** Refusals after the first of a burst are counted, not logged, until this long passed without a log line. */
export const REFUSAL_LOG_QUIET_MS = 10_000;

export type RefusedEvent = { readonly seq: number; readonly subject: string; readonly reason: RefusalReason; readonly detail: string };
export type RejectedInput = Rejection & { readonly seq: number; readonly skipped: boolean };

/** What the compiler reports about its input (the status record's `input`). */
export type InputReport = {
  readonly refused: number;
  readonly refusedByReason: Readonly<Partial<Record<RefusalReason, number>>>;
  readonly recentRefused: readonly RefusedEvent[];
  /** Events skipped or with fields rejected while decoding (malformed input), and the newest of them. */
  readonly rejected: number;
  readonly recentRejected: readonly RejectedInput[];
};

/**
 * Counts and logs what the edge refused (signatures, replays) or rejected (malformed events). Refusals are
 * logged once per burst: the first with its subject and sequence, later ones counted until the log has been
 * quiet for REFUSAL_LOG_QUIET_MS; the next line says how many were not logged.
 */
export class InputLedger {
  private refused = 0;
  private readonly byReason = new Map<RefusalReason, number>();
  private recentRefused: RefusedEvent[] = [];
  private rejected = 0;
  private recentRejected: RejectedInput[] = [];
  private quietUntil = 0;
  private unlogged = 0;

  constructor(private readonly log: Logger, private readonly now: () => number = Date.now) {}

  refuse(seq: number, subject: string, refusal: Refusal): void {
    this.refused += 1;
    this.byReason.set(refusal.reason, (this.byReason.get(refusal.reason) ?? 0) + 1);
    this.recentRefused = [...this.recentRefused, { seq, subject, ...refusal }].slice(-RECENT_INPUT_PROBLEMS);
    const t = this.now();
    if (t < this.quietUntil) {
      this.unlogged += 1;
    } else {
      this.log.warn({ seq, subject, reason: refusal.reason, detail: refusal.detail, notLoggedBefore: this.unlogged, refusedTotal: this.refused }, 'event refused');
      this.unlogged = 0;
    }
    this.quietUntil = t + REFUSAL_LOG_QUIET_MS;
  }

  reject(seq: number, rejections: readonly Rejection[], skipped: boolean): void {
    if (rejections.length === 0) return;
    this.rejected += 1;
    this.recentRejected = [...this.recentRejected, ...rejections.map((r) => ({ ...r, seq, skipped }))].slice(-RECENT_INPUT_PROBLEMS);
  }

  report(): InputReport {
    return {
      refused: this.refused, refusedByReason: Object.fromEntries(this.byReason), recentRefused: this.recentRefused,
      rejected: this.rejected, recentRejected: this.recentRejected,
    };
  }
}

/**
 * What of a consumed message may be folded: nothing when the edge refused it (signature) or the replay guard
 * does (`marks`, moved on when accepted); otherwise its decoded event. Every refusal and rejection is counted.
 */
export function admit(c: Consumed, marks: Map<string, OriginMark>, ledger: InputLedger): FoldEvent | undefined {
  if (c.refusal) {
    ledger.refuse(c.seq, c.subject, c.refusal);
    return undefined;
  }
  ledger.reject(c.seq, c.rejections, c.event === undefined);
  if (!c.event) return undefined;
  const refusal = admitOrigin(marks, c.event.origin);
  if (refusal) {
    ledger.refuse(c.seq, c.subject, refusal);
    return undefined;
  }
  return c.event;
}
