/** While catching up a long backlog, at most one snapshot per this many events: encoding one costs ~0.1-0.3 s at 10k pods. */
export const CATCH_UP_SNAPSHOT_EVENTS = 200_000;

export type SnapshotFacts = {
  readonly caughtUp: boolean;
  /** A snapshot is being written now. */
  readonly snapshotting: boolean;
  /** The last sequence folded into the state. */
  readonly foldedSeq: number;
  readonly lastSnapshotSeq: number;
  readonly msSinceSnapshot: number;
  /** KNP_SNAPSHOT_EVENTS and KNP_SNAPSHOT_S (in ms); 0 turns each off. */
  readonly everyEvents: number;
  readonly everyMs: number;
};

/**
 * Whether to write a snapshot now: something new was folded, none is being written, and either enough
 * events were folded since the last one or (following only) enough time passed.
 */
export function isSnapshotDue(f: SnapshotFacts): boolean {
  if (f.snapshotting || f.foldedSeq <= f.lastSnapshotSeq) return false;
  const every = f.caughtUp ? f.everyEvents : Math.max(f.everyEvents, CATCH_UP_SNAPSHOT_EVENTS);
  const byEvents = f.everyEvents > 0 && f.foldedSeq - f.lastSnapshotSeq >= every;
  const byTime = f.caughtUp && f.everyMs > 0 && f.msSinceSnapshot >= f.everyMs;
  return byEvents || byTime;
}
