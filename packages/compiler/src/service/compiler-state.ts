import type { Waiter } from './caught-up.js';
import type { EventSource } from './event-source.js';
import type { PublishCounters } from './publish-booking.js';
import type { Session } from './session.js';
import type { InputLedger } from './admission.js';

/** `restarting`: the events stream was recreated, until the next pass starts; `stopping` is final. */
export type Phase = 'running' | 'restarting' | 'stopping';

/** The events consumer of the current pass, and what the stall watchdog knows of it. */
export type Follow = {
  source: EventSource | undefined;
  /** Waiting for the consumer's next message (not handling one). */
  waiting: boolean;
  /** The watchdog closed the consumer to open a new one after the last consumed message. */
  reopening: boolean;
  lastMessageAt: number;
};

/** Everything that changes while the compiler service runs; what one pass knows is in `session`. */
export type CompilerState = {
  phase: Phase;
  /** The events stream's epoch as read when the last pass started; the heartbeat starts over when it changes. */
  epoch: string;
  session: Session;
  follow: Follow;
  counters: PublishCounters;
  /** `caughtUp(seq)` calls waiting for an evaluation. */
  waiters: Waiter[];
  /** The canonical text of the last rejections record written, its bytes and when (ms). */
  lastRejections: string;
  lastRejectionsBytes: Uint8Array | undefined;
  lastRejectionsAt: number;
  /** Evaluations run one at a time (the follow loop's and the idle timer's): each chains on this one. */
  evaluating: Promise<void>;
  idleTimer: NodeJS.Timeout | undefined;
  snapshotting: Promise<number> | undefined;
  /** Only events signed by a trusted watcher key are folded, and publishing waits for the publish gate. */
  readonly signedEvents: boolean;
  /** What the edge refused or rejected, for the status record. */
  readonly input: InputLedger;
};

export function initialState(session: Session, now: number, signedEvents: boolean, input: InputLedger): CompilerState {
  return {
    phase: 'running', epoch: session.epoch, session,
    follow: { source: undefined, waiting: false, reopening: false, lastMessageAt: now },
    counters: { published: 0, adopted: 0, behind: 0, errors: 0 },
    waiters: [], lastRejections: '', lastRejectionsBytes: undefined, lastRejectionsAt: 0, evaluating: Promise.resolve(), idleTimer: undefined, snapshotting: undefined,
    signedEvents, input,
  };
}
