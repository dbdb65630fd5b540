import { performance } from 'node:perf_hooks';
import type { Logger } from '@knp/shared';
import { streamEpoch } from '@knp/shared/nats';
import type { CompilerState } from './compiler-state.js';
import type { CompilerNats } from './connect.js';
import { consumerStall, isNewEpoch, type StallVerdict } from './watchdog-decision.js';

/**
 * Heartbeat watchdog: the events stream was recreated (or deleted). Closes the consumer, so the pass ends
 * and the next one starts over on the new epoch; until then nothing of this pass looks current.
 */
export async function checkEpoch(c: CompilerState, nats: CompilerNats, log: Logger): Promise<void> {
  const current = await streamEpoch(nats.jsm, nats.streams.eventsStream).catch(() => c.epoch);
  if (!isNewEpoch({ phase: c.phase, epoch: c.epoch, current })) return;
  c.phase = 'restarting';
  c.session.caughtUp = false;
  log.warn({ previous: c.epoch, epoch: current }, 'events stream recreated, starting over');
  await c.follow.source?.close();
}

/**
 * Heartbeat watchdog: the consumer waits too long while the stream holds more. Closes it, so the follow
 * step opens a new one after the last consumed message.
 */
export async function checkStall(c: CompilerState, nats: CompilerNats, thresholdMs: number, log: Logger): Promise<void> {
  const verdict = (lastSeq: number | undefined): StallVerdict =>
    consumerStall({ ...c.follow, phase: c.phase, idleMs: performance.now() - c.follow.lastMessageAt, thresholdMs, consumedSeq: c.session.consumedSeq, lastSeq });
  if (verdict(undefined) !== 'ask-the-stream') return;
  const lastSeq = (await nats.jsm.streams.info(nats.streams.eventsStream).catch(() => undefined))?.state.last_seq ?? 0;
  if (verdict(lastSeq) !== 'stalled') return;
  c.follow.reopening = true;
  const idleMs = Math.round(performance.now() - c.follow.lastMessageAt);
  log.warn({ consumedSeq: c.session.consumedSeq, lastSeq, idleMs }, 'event consumer stalled, reopening it after the last consumed message');
  await c.follow.source?.close();
}
