import { performance } from 'node:perf_hooks';
import { REJECTIONS_KEY, type Logger } from '@knp/shared';
import { earliest } from '@knp/shared/ops';
import { JSONCodec, type KV } from 'nats';
import { affectedNodes } from '../affected.js';
import { allRejections, nodesOf } from '../compile-node.js';
import type { ClusterState } from '../state.js';
import type { CompilerState } from './compiler-state.js';
import { describeEvaluation, evaluationScope, nodesToCompile, purgedNodes, type Evaluation } from './evaluation.js';
import { publishNodes, type PublishHooks } from './publisher.js';
import { rejectionsRecord } from './rejections.js';
import { takeEvaluationInput } from './session.js';
import { publishGate } from '../input/origin-guard.js';

/** What the series learn from an evaluation: publish hooks (stamped with a receive time) and the rejections in force. */
export type EvaluationObserver = {
  publishHooks(receivedAtMs: number | undefined): PublishHooks;
  rejected(count: number): void;
};

/**
 * The evaluate step, on the current pass: folds, compiles the nodes the evaluation's scope names at the
 * folded state, publishes what changed and records rejections, then marks the pass evaluated up to what it
 * covered. Returns the evaluation's record; answering waiters and writing the status are the caller's.
 */
export async function evaluatePass(c: CompilerState, statusBucket: KV, log: Logger, observer?: EvaluationObserver): Promise<Evaluation> {
  const s = c.session;
  // the heartbeat may snapshot while this awaits publishes: everything below works on `at`, never on `s.state`
  const { at, coveredSeq, arrivals, backlog } = takeEvaluationInput(s);
  const t0 = performance.now();
  const waitingFor = publishGate(c.signedEvents, at);
  if (waitingFor.length > 0) {
    if (!s.gated) log.warn({ seq: at.seq, waitingFor }, 'publishing held: no signed full sync yet of every kind');
    s.gated = true;
    s.evaluatedState = at;
    s.evaluatedSeq = coveredSeq;
    s.caughtUp = true;
    return describeEvaluation({ published: 0, compiled: 0, compileMs: 0, seq: at.seq, caughtUp: true, arrivals: arrivals.map((a) => a.arrivedAt), backlog, startedAt: t0, endedAt: performance.now() });
  }
  // the first evaluation after the gate opened publishes every node, as after a backlog
  const scope = s.gated ? 'backlog' : evaluationScope(s.caughtUp, arrivals.length);
  if (s.gated) log.info({ seq: at.seq }, 'publish gate open: every kind has a signed full sync');
  s.gated = false;
  // one stream info per evaluation: a purged subject is noticed at the next one (the held copy would skip it)
  const published = await s.rules.publishedNodes();
  for (const node of purgedNodes(s.view.keys(), published)) {
    s.view.delete(node);
    s.rules.forget(node);
    s.dirty.add(node);
  }
  const nodes = nodesToCompile(scope, {
    known: () => nodesOf(at), held: s.view.keys(), dirty: s.dirty, published,
    affected: () => affectedNodes(s.evaluatedState, at, arrivals[0]!.event),
  });
  // the earliest receive time of the events behind these rule sets (an upper bound for the nodes an event
  // other than the earliest changed); a backlog has no arrivals: catching up is not timed
  const receivedAtMs = arrivals.reduce<number | undefined>((min, a) => earliest(min, a.receivedAtMs), undefined);
  const result = await publishNodes(s, at, nodes, c.counters, log, observer?.publishHooks(receivedAtMs));
  observer?.rejected(await recordRejections(c, s.epoch, at, statusBucket, log));
  const endedAt = performance.now();
  const evaluation = describeEvaluation({ ...result, seq: at.seq, caughtUp: s.caughtUp, arrivals: arrivals.map((a) => a.arrivedAt), backlog, startedAt: t0, endedAt });
  if (!s.caughtUp)
    log.info({ seq: at.seq, events: backlog, nodes: nodes.length, published: result.published, compileMs: Math.round(result.compileMs), ms: Math.round(endedAt - t0) }, 'caught up');
  s.evaluatedState = at;
  s.evaluatedSeq = coveredSeq;
  s.caughtUp = true;
  return evaluation;
}

/** Writes the rejections record when the rejections changed, and logs each of them then; returns how many there are. */
async function recordRejections(c: CompilerState, epoch: string, at: ClusterState, statusBucket: KV, log: Logger): Promise<number> {
  const all = allRejections(at);
  const { text, record } = rejectionsRecord(epoch, at.seq, all);
  if (text === c.lastRejections) return all.length;
  try {
    const bytes = JSONCodec().encode(record);
    await statusBucket.put(REJECTIONS_KEY, bytes);
    c.lastRejections = text;
    c.lastRejectionsBytes = bytes;
    c.lastRejectionsAt = Date.now();
    for (const r of all) log.warn({ object: r.object, field: r.field, reason: r.reason }, 'policy rejected');
  } catch (err) {
    log.warn({ err }, 'rejections write failed');
  }
  return all.length;
}

/**
 * The rejections record is written again at least this often (from the heartbeat), so the status bucket's
 * TTL (KNP_STATUS_TTL_S, at least an hour) never expires the record of a live compiler on a quiet cluster.
 */
export const REJECTIONS_REFRESH_MS = 10 * 60_000;

/** Writes the last rejections record again when it is older than REJECTIONS_REFRESH_MS. */
export async function refreshRejections(c: CompilerState, statusBucket: KV, log: Logger, now = Date.now()): Promise<void> {
  if (c.lastRejectionsBytes === undefined || now - c.lastRejectionsAt < REJECTIONS_REFRESH_MS) return;
  c.lastRejectionsAt = now;
  try {
    await statusBucket.put(REJECTIONS_KEY, c.lastRejectionsBytes);
  } catch (err) {
    log.warn({ err }, 'rejections refresh failed');
  }
}
