import { InputError, names, type Logger, type SigningSettings } from '@knp/shared';
import { streamEpoch } from '@knp/shared/nats';
import type { JetStreamManager, NatsConnection } from 'nats';
import { evolveAll } from '../evolve.js';
import type { FoldEvent } from '../fold-event.js';
import { emptyState, type ClusterState } from '../state.js';
import { openEventSource } from './event-source.js';
import { FOLD_CHUNK } from './session.js';
import { SnapshotStore } from './snapshots.js';
import { InputLedger, admit, type InputReport } from './admission.js';
import { guardMarks, resumeState } from '../input/origin-guard.js';

/** The stream cannot answer the question asked (no events stream, a sequence past its end). */
export class ReplayError extends InputError {
  override name = 'ReplayError';
}

/** One event as the stream holds it: its sequence, when it was stored, the fold event (undefined when skipped). */
export type StreamEvent = { readonly seq: number; readonly timeMs: number; readonly event: FoldEvent | undefined };

export type FoldOptions = {
  /** The last sequence to fold (default: the stream's last sequence now). */
  readonly toSeq?: number;
  /** Ignore snapshots: fold every retained event. */
  readonly fromStart?: boolean;
  /**
   * Called with every event folded one at a time (batches are not used then), with the states before and
   * after it: for tools that look at each change (`knp history`). Without it events fold in chunks.
   */
  readonly onEvent?: (before: ClusterState, after: ClusterState, event: StreamEvent) => void;
  /** Whose events and snapshots to trust, as a compiler would (default: unsigned, everything). */
  readonly signing?: Pick<SigningSettings, 'watchers' | 'compilers'>;
  readonly log: Logger;
};

/** `input`: what the fold refused (signatures, replays) or rejected (malformed events). */
export type Folded = { readonly epoch: string; readonly state: ClusterState; readonly snapshotSeq: number; readonly lastSeq: number; readonly input: InputReport };

/**
 * Folds the events stream as of a sequence: the newest usable snapshot at or before it (unless `fromStart`),
 * then the events after it. The one fold behind `knp replay`, live `knp explain` and `knp history`.
 */
export async function foldStream(nc: NatsConnection, prefix: string, opts: FoldOptions): Promise<Folded> {
  const n = names(prefix);
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const epoch = await streamEpoch(jsm, n.eventsStream);
  if (epoch === undefined) throw new ReplayError(`no events stream ${n.eventsStream}: did "knp init" run with KNP_PREFIX=${prefix}?`);
  const info = await jsm.streams.info(n.eventsStream);
  const target = opts.toSeq ?? info.state.last_seq;
  if (target > info.state.last_seq) throw new ReplayError(`sequence ${target} is past the stream's last sequence ${info.state.last_seq}`);

  const watchers = opts.signing?.watchers ?? { mode: 'unsigned' as const };
  let state: ClusterState = emptyState(epoch, watchers.mode === 'signed');
  if (!opts.fromStart && (await hasStream(jsm, `OBJ_${n.snapshotBucket}`))) {
    const trust = opts.signing?.compilers ?? { mode: 'unsigned' as const };
    const store = await SnapshotStore.open(js, prefix, opts.log, { signer: undefined, trust, requireSignedFold: watchers.mode === 'signed' });
    const snapshot = await store.loadNewest(epoch, target);
    if (snapshot) state = resumeState(snapshot.state, watchers.mode === 'signed');
  }
  const snapshotSeq = state.seq;
  const ledger = new InputLedger(opts.log);
  if (target > state.seq) {
    const source = await openEventSource(js, jsm, prefix, state.seq, opts.log, watchers);
    const marks = guardMarks(state);
    let batch: FoldEvent[] = [];
    try {
      for await (const c of source) {
        if (c.seq > target) break;
        const event = admit(c, marks, ledger);
        if (opts.onEvent) {
          const before = state;
          if (event) state = evolveAll(state, [event]);
          opts.onEvent(before, state, { seq: c.seq, timeMs: c.timeMs, event });
        } else if (event) {
          batch.push(event);
          if (batch.length >= FOLD_CHUNK) (state = evolveAll(state, batch)), (batch = []);
        }
        if (c.seq >= target || c.pending === 0) break;
      }
    } finally {
      await source.close();
    }
    state = evolveAll(state, batch);
  }
  return { epoch, state, snapshotSeq, lastSeq: info.state.last_seq, input: ledger.report() };
}

/**
 * The last stream sequence stored at or before `timeMs` (0 when the stream holds nothing that old), by a
 * binary search over stored messages: the stream keeps no time index, and a search costs ~log2(n) reads.
 */
export async function seqAtTime(jsm: JetStreamManager, prefix: string, timeMs: number): Promise<number> {
  const stream = names(prefix).eventsStream;
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return 0;
  const timeOf = async (seq: number): Promise<{ seq: number; timeMs: number } | undefined> => {
    // a removed sequence (limits, purge) reads as the next stored one
    for (let s = seq; s <= state.last_seq; s += 1) {
      const m = await jsm.streams.getMessage(stream, { seq: s }).catch(() => undefined);
      if (m) return { seq: m.seq, timeMs: m.time.getTime() };
    }
    return undefined;
  };
  let lo = state.first_seq, hi = state.last_seq, best = 0;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const found = await timeOf(mid);
    if (found && found.timeMs <= timeMs) {
      best = found.seq;
      lo = found.seq + 1;
    } else hi = mid - 1;
  }
  return best;
}

async function hasStream(jsm: JetStreamManager, name: string): Promise<boolean> {
  return jsm.streams.info(name).then(() => true, () => false);
}
