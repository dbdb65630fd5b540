import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  MAX_RECORDED_REJECTIONS, REJECTIONS_KEY, STATUS_SCHEMA, canonicalJson, compilerStatusKey,
  type CompilerStatus, type Config, type Logger, type RejectionsRecord, type RuleSet,
} from '@knp/shared';
import { ensureStreams, streamEpoch } from '@knp/shared/nats';
import { JSONCodec, connect, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import { affectedNodes } from '../affected.js';
import { allRejections, compileNode, nodesOf } from '../compile-node.js';
import { evolveAll } from '../evolve.js';
import { emptyState, type ClusterState } from '../state.js';
import type { FoldEvent } from '../fold-event.js';
import { openEventSource, type EventSource } from './event-source.js';
import { RulesStore } from './rules-store.js';
import { DEFAULT_COMPILER_SETTINGS, type CompilerSettings } from './settings.js';
import { SnapshotStore } from './snapshots.js';

/** What one evaluation did (for the benchmark and debugging). */
export type Evaluation = {
  readonly seq: number;
  readonly events: number;
  readonly nodesCompiled: number;
  readonly published: number;
  readonly compileMs: number;
  readonly totalMs: number;
  /** Per event evaluated while following: time from its arrival to the end of the evaluation. */
  readonly latenciesMs: readonly number[];
};

export type CompilerOptions = {
  readonly settings?: Partial<CompilerSettings>;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.natsUrls`. */
  readonly nc?: NatsConnection;
  /** Replay from the start of the stream even when snapshots exist. */
  readonly ignoreSnapshots?: boolean;
  readonly onEvaluated?: (evaluation: Evaluation) => void;
};

export type CompilerHandle = {
  readonly instance: string;
  status(): CompilerStatus;
  /** Per node, the rule set this replica holds as current: published by it, or the same content adopted from the stream. */
  ruleSets(): ReadonlyMap<string, RuleSet>;
  /** Resolves once everything up to `seq` (default: the stream's last sequence now) is folded and evaluated. */
  caughtUp(seq?: number): Promise<void>;
  /** Writes a snapshot of the state folded so far; resolves with the sequence it covers. */
  snapshot(): Promise<number>;
  stop(): Promise<void>;
};

/**
 * Events folded per immer produce while reading a backlog. A produce costs about as much as the part of the
 * state it touches, and a large chunk touches all of it, so bigger chunks fold faster (pod label changes on
 * the 10k-pod bench state: 20,000 -> 21k, 50,000 -> 34k, 100,000 -> 42k events/s); 50,000 parsed events
 * hold ~150 MiB while they are folded.
 */
export const FOLD_CHUNK = 50_000;
const RESTART_DELAY_MS = 1_000;
/** Following, no message came for this long after one that was not judged the head: evaluate what is folded. */
const IDLE_EVALUATE_MS = 50;
const CATCH_UP_SNAPSHOT_EVENTS = 200_000;
const PUBLISHES_IN_FLIGHT = 8;

/**
 * The compiler service: loads the newest snapshot of the events stream's epoch, replays the stream after it,
 * folds the whole backlog, then compiles every node once and publishes what changed; afterwards it follows,
 * recompiling the nodes each event affects (every node after a batch of several). Publishing goes through
 * RulesStore: one copy per version, never backwards, safe with several replicas. See README "Compiler".
 */
export async function runCompiler(config: Config, logger: Logger, opts: CompilerOptions = {}): Promise<CompilerHandle> {
  const settings: CompilerSettings = { ...DEFAULT_COMPILER_SETTINGS, ...opts.settings };
  const instance = randomUUID();
  const log = logger.child({ component: 'compiler', instance });
  const nc = opts.nc ?? (await connect({ servers: [...config.natsUrls], name: 'knp-compiler', maxReconnectAttempts: -1 }));
  const js = nc.jetstream();
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const streams = await ensureStreams(nc, config.prefix, settings.streams);
  const kv: KV = await js.views.kv(streams.statusBucket);
  const snapshots = await SnapshotStore.open(js, config.prefix, settings.streams.replicas, log);
  const startedAt = new Date().toISOString();

  // session state (reset when the events stream is recreated)
  let epoch = streams.epoch;
  let rules = new RulesStore(js, jsm, config.prefix, nc.info?.max_payload ?? 1024 * 1024, log);
  let state: ClusterState = emptyState(epoch);
  let evaluatedState: ClusterState = state;
  let view = new Map<string, RuleSet>();
  let dirty = new Set<string>();
  let caughtUp = false;
  let startedFromSeq = 0;
  let consumedSeq = 0;
  let evaluatedSeq = 0;
  let lastSnapshotSeq = 0;
  let lastSnapshotAt = performance.now();
  let batch: FoldEvent[] = [];
  let unevaluated: Array<{ event: FoldEvent; arrivedAt: number }> = [];
  let unevaluatedCount = 0;
  let lastRejections = '';
  const counters = { published: 0, adopted: 0, behind: 0, errors: 0 };
  let waiters: Array<{ seq: number; resolve: () => void }> = [];
  let source: EventSource | undefined;
  let stopping = false;

  const status = (): CompilerStatus => ({
    schema: STATUS_SCHEMA, instance, epoch, startedAt, heartbeatAt: new Date().toISOString(),
    lastSeq: consumedSeq, evaluatedSeq, caughtUp, startedFromSeq, lastSnapshotSeq, nodes: view.size, ...counters,
  });

  // one status write in flight; requests during a write are coalesced into the next one
  let writing: Promise<void> | undefined;
  let writeAgain = false;
  const writeStatus = async (): Promise<void> => {
    if (writing) return void (writeAgain = true);
    writing = (async () => {
      do {
        writeAgain = false;
        try {
          await kv.put(compilerStatusKey(instance), JSONCodec().encode(status()));
        } catch (err) {
          log.warn({ err }, 'status write failed');
        }
      } while (writeAgain && !stopping);
    })();
    await writing;
    writing = undefined;
  };

  const fold = (): void => {
    if (batch.length === 0) return;
    state = evolveAll(state, batch);
    batch = [];
  };

  /** Publishes one node's rule set through the rules stream's arbitration and records the outcome. */
  const publishOne = async (ruleSet: RuleSet): Promise<boolean> => {
    const node = ruleSet.node;
    try {
      const outcome = await rules.publish(ruleSet);
      if (outcome.decision === 'behind') {
        counters.behind += 1;
        dirty.add(node); // another replica has seen more events: look again after the next evaluation
        return false;
      }
      view.set(node, outcome.ruleSet!);
      dirty.delete(node);
      if (outcome.decision === 'adopt' || outcome.duplicate) return (counters.adopted += 1), false;
      counters.published += 1;
      log.info({ node, version: ruleSet.version, hash: ruleSet.contentHash, pods: ruleSet.pods.length }, 'rule set published');
      return true;
    } catch (err) {
      counters.errors += 1;
      dirty.add(node);
      log.error({ err, node, version: ruleSet.version }, 'rule set publish failed, retrying at the next evaluation');
      return false;
    }
  };

  /**
   * Compiles `nodes` at the folded state `at` and publishes those whose content differs from what this
   * replica holds. Compiling (CPU) overlaps with up to PUBLISHES_IN_FLIGHT publishes (one per node, so the
   * per-node read-decide-publish sequence is never interleaved with itself).
   */
  const publishNodes = async (at: ClusterState, nodes: Iterable<string>): Promise<{ compiled: number; published: number; compileMs: number }> => {
    const version = { epoch, seq: at.seq };
    let compiled = 0, published = 0, compileMs = 0;
    const inFlight = new Set<Promise<void>>();
    for (const node of nodes) {
      const t0 = performance.now();
      const { ruleSet } = compileNode(at, node, version);
      compileMs += performance.now() - t0;
      compiled += 1;
      if (view.get(node)?.contentHash === ruleSet.contentHash) {
        dirty.delete(node);
        continue;
      }
      const p: Promise<void> = publishOne(ruleSet).then((done) => {
        if (done) published += 1;
        inFlight.delete(p);
      });
      inFlight.add(p);
      if (inFlight.size >= PUBLISHES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return { compiled, published, compileMs };
  };

  const recordRejections = async (at: ClusterState): Promise<void> => {
    const all = allRejections(at);
    const text = canonicalJson(all);
    if (text === lastRejections) return;
    const record: RejectionsRecord = { schema: STATUS_SCHEMA, epoch, seq: at.seq, count: all.length, rejections: all.slice(0, MAX_RECORDED_REJECTIONS) };
    try {
      await kv.put(REJECTIONS_KEY, JSONCodec().encode(record));
      lastRejections = text;
      for (const r of all) log.warn({ object: r.object, field: r.field, reason: r.reason }, 'policy rejected');
    } catch (err) {
      log.warn({ err }, 'rejections write failed');
    }
  };

  /**
   * Evaluates what was folded since the last evaluation. The first one (after the backlog) compiles every
   * node known to the state, to this replica or to the rules stream; later ones the nodes one event affects,
   * or every node after a batch (cheaper than affectedNodes per event once events pile up).
   */
  const evaluateNow = async (): Promise<void> => {
    fold();
    // the heartbeat may snapshot while this awaits publishes: everything below works on `at`, never on `state`
    const at = state;
    const coveredSeq = consumedSeq;
    const t0 = performance.now();
    // taken now: messages consumed while this awaits publishes belong to the next evaluation
    const events = unevaluated;
    const backlog = unevaluatedCount;
    unevaluated = [];
    unevaluatedCount = 0;
    let nodes: Set<string>;
    if (!caughtUp) nodes = new Set([...nodesOf(at), ...view.keys(), ...(await rules.publishedNodes())]);
    else if (events.length === 0) nodes = new Set(dirty); // only parts or unreadable messages arrived
    else if (events.length === 1) nodes = new Set([...affectedNodes(evaluatedState, at, events[0]!.event), ...dirty]);
    else nodes = new Set([...nodesOf(at), ...view.keys(), ...dirty]);
    const result = await publishNodes(at, [...nodes].sort());
    await recordRejections(at);
    const end = performance.now();
    const evaluation: Evaluation = {
      seq: at.seq, events: caughtUp ? events.length : backlog, nodesCompiled: result.compiled, published: result.published,
      compileMs: result.compileMs, totalMs: end - t0, latenciesMs: caughtUp ? events.map((e) => end - e.arrivedAt) : [],
    };
    if (!caughtUp)
      log.info({ seq: at.seq, events: backlog, nodes: nodes.size, published: result.published, compileMs: Math.round(result.compileMs), ms: Math.round(end - t0) }, 'caught up');
    evaluatedState = at;
    evaluatedSeq = coveredSeq;
    caughtUp = true;
    opts.onEvaluated?.(evaluation);
    const ready = waiters.filter((w) => w.seq <= evaluatedSeq);
    waiters = waiters.filter((w) => w.seq > evaluatedSeq);
    for (const w of ready) w.resolve();
    void writeStatus();
  };

  // evaluations run one at a time: the loop's (at the head, or a full batch) and the idle timer's
  let evaluating: Promise<void> = Promise.resolve();
  let idleTimer: NodeJS.Timeout | undefined;
  const evaluate = (): Promise<void> => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    const next = evaluating.then(evaluateNow);
    evaluating = next.catch(() => undefined);
    return next;
  };
  /** Nothing judged the last message the head; if nothing follows soon, it was. */
  const armIdleEvaluation = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (stopping || restarting || consumedSeq <= evaluatedSeq) return;
      evaluate().catch((err: unknown) => {
        log.error({ err }, 'evaluation failed, starting over');
        void source?.close();
      });
    }, IDLE_EVALUATE_MS);
  };

  /** While catching up a long backlog, at most one snapshot per CATCH_UP_SNAPSHOT_EVENTS: encoding one costs ~0.1-0.3 s at 10k pods. */
  const snapshotDue = (): boolean => {
    const every = caughtUp ? settings.snapshotEveryEvents : Math.max(settings.snapshotEveryEvents, CATCH_UP_SNAPSHOT_EVENTS);
    return !snapshotting && state.seq > lastSnapshotSeq &&
      ((settings.snapshotEveryEvents > 0 && state.seq - lastSnapshotSeq >= every) ||
        (caughtUp && settings.snapshotEveryMs > 0 && performance.now() - lastSnapshotAt >= settings.snapshotEveryMs));
  };

  let snapshotting: Promise<number> | undefined;
  /** Snapshots what is folded so far (events still in `batch` are left for the next one). */
  const takeSnapshot = async (): Promise<number> => {
    if (snapshotting) return snapshotting;
    const snap = state;
    snapshotting = (async () => {
      const t0 = performance.now();
      try {
        const bytes = await snapshots.save(snap, settings.snapshotsKept);
        lastSnapshotSeq = Math.max(lastSnapshotSeq, snap.seq);
        log.info({ seq: snap.seq, bytes, ms: Math.round(performance.now() - t0) }, 'snapshot written');
      } catch (err) {
        log.error({ err, seq: snap.seq }, 'snapshot write failed');
      } finally {
        lastSnapshotAt = performance.now();
      }
      return snap.seq;
    })();
    try {
      return await snapshotting;
    } finally {
      snapshotting = undefined;
    }
  };

  /** One pass: snapshot, replay, follow, until stopped, the stream is recreated or something fails. */
  const session = async (): Promise<void> => {
    caughtUp = false; // before any await: nothing of the last session may look current
    clearTimeout(idleTimer);
    epoch = (await streamEpoch(jsm, streams.eventsStream)) ?? (await ensureStreams(nc, config.prefix, settings.streams)).epoch;
    restarting = false;
    rules = new RulesStore(js, jsm, config.prefix, nc.info?.max_payload ?? 1024 * 1024, log);
    const t0 = performance.now();
    const snapshot = opts.ignoreSnapshots ? undefined : await snapshots.loadNewest(epoch);
    const snapshotMs = Math.round(performance.now() - t0);
    const info = await jsm.streams.info(streams.eventsStream);
    if (snapshot && snapshot.seq + 1 < info.state.first_seq) log.warn({ snapshotSeq: snapshot.seq, firstSeq: info.state.first_seq }, 'events after the snapshot were removed by a limit');
    if (!snapshot && info.state.first_seq > 1) log.warn({ firstSeq: info.state.first_seq }, 'no snapshot and the stream no longer starts at 1: state is partial');
    state = snapshot?.state ?? emptyState(epoch);
    evaluatedState = state;
    view = new Map();
    dirty = new Set();
    caughtUp = false;
    startedFromSeq = consumedSeq = evaluatedSeq = lastSnapshotSeq = state.seq;
    lastSnapshotAt = performance.now();
    batch = [];
    unevaluated = [];
    unevaluatedCount = 0;
    log.info({ epoch, snapshotSeq: snapshot?.seq ?? 0, snapshotMs, lastSeq: info.state.last_seq }, 'compiler starting');
    const backlogEnd = info.state.last_seq;
    if (backlogEnd <= state.seq) await evaluate(); // nothing to replay: publish what the snapshot says
    // one consumer per pass; a stalled one (see checkStall) is replaced, going on after the last consumed message
    for (;;) {
      reopening = false;
      source = await openEventSource(js, jsm, config.prefix, consumedSeq, log);
      log.debug({ afterSeq: consumedSeq }, 'event source opened');
      lastMessageAt = performance.now();
      waiting = true;
      for await (const consumed of source) {
        waiting = false;
        lastMessageAt = performance.now();
        if (stopping) break;
        consumedSeq = consumed.seq;
        if (consumed.event) {
          batch.push(consumed.event);
          if (caughtUp) unevaluated.push({ event: consumed.event, arrivedAt: performance.now() });
          else unevaluatedCount += 1;
        }
        // The backlog's end is known exactly (the stream's last sequence when this pass started). After it,
        // `pending` is an estimate (nats-server 2.9 sometimes counts a few messages too many for a consumer
        // started at a sequence, and the client counts its queued callbacks): a quiet moment also means the head.
        const atHead = consumed.pending === 0 || (!caughtUp && consumed.seq >= backlogEnd);
        if (batch.length >= FOLD_CHUNK) fold();
        if (atHead || (caughtUp && unevaluated.length >= settings.maxBatchEvents)) await evaluate();
        else if (caughtUp) armIdleEvaluation();
        if (snapshotDue()) void takeSnapshot(); // the state is immutable: the loop goes on folding meanwhile
        waiting = true;
        lastMessageAt = performance.now();
      }
      waiting = false;
      if (!reopening || stopping || restarting) break;
    }
  };

  // stall watchdog: waiting for a message while the stream holds more than was consumed, for too long
  let waiting = false;
  let reopening = false;
  let lastMessageAt = performance.now();
  const stallMs = Math.max(2 * settings.heartbeatMs, 2_000);
  const checkStall = async (): Promise<void> => {
    if (!waiting || reopening || stopping || restarting || performance.now() - lastMessageAt < stallMs) return;
    const lastSeq = (await jsm.streams.info(streams.eventsStream).catch(() => undefined))?.state.last_seq ?? 0;
    if (!waiting || reopening || lastSeq <= consumedSeq || performance.now() - lastMessageAt < stallMs) return;
    reopening = true;
    log.warn({ consumedSeq, lastSeq, idleMs: Math.round(performance.now() - lastMessageAt) }, 'event consumer stalled, reopening it after the last consumed message');
    await source?.close();
  };

  let restarting = false;
  const checkEpoch = async (): Promise<void> => {
    const current = await streamEpoch(jsm, streams.eventsStream).catch(() => epoch);
    if (current === epoch || stopping || restarting) return;
    restarting = true; // until the next session starts
    caughtUp = false;
    log.warn({ previous: epoch, epoch: current }, 'events stream recreated, starting over');
    await source?.close();
  };

  const heartbeat = setInterval(() => {
    void writeStatus();
    void checkEpoch();
    void checkStall();
    if (snapshotDue() && !stopping) void takeSnapshot();
  }, settings.heartbeatMs);

  const loop = (async () => {
    while (!stopping) {
      try {
        await session();
      } catch (err) {
        if (stopping) break;
        log.error({ err }, 'compiler session failed, starting over');
      }
      if (!stopping) await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
    }
  })();

  return {
    instance,
    status,
    ruleSets: () => view,
    async caughtUp(seq?: number): Promise<void> {
      const target = seq ?? (await jsm.streams.info(streams.eventsStream)).state.last_seq;
      if (caughtUp && evaluatedSeq >= target) return;
      await new Promise<void>((resolve) => waiters.push({ seq: target, resolve }));
    },
    snapshot: takeSnapshot,
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      clearTimeout(idleTimer);
      await source?.close();
      await loop;
      await snapshotting;
      await writing;
      if (!opts.nc) await nc.close();
      log.info('compiler stopped');
    },
  };
}
