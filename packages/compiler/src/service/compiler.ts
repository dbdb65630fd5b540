import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATUS_SCHEMA, assertNever, compilerStatusKey, type CompilerStatus, type Logger, type RuleSet } from '@knp/shared';
import { StatusWriter, awaitStreams, streamEpoch } from '@knp/shared/nats';
import { emptyState } from '../state.js';
import { isCaughtUpTo, releaseWaiters } from './caught-up.js';
import type { CompilerHandle, CompilerOptions } from './compiler-handle.js';
import { initialState, type CompilerState } from './compiler-state.js';
import type { CompilerNats } from './connect.js';
import { evaluatePass, refreshRejections } from './evaluation-step.js';
import { openEventSource, type Consumed } from './event-source.js';
import { afterMessage, isIdleEvaluationDue } from './follow-decision.js';
import { RulesStore } from './rules-store.js';
import { InputLedger, admit } from './admission.js';
import { publishGate, resumeState } from '../input/origin-guard.js';
import { signingStatus, warnAboutSigning } from './signing-status.js';
import { consume, newSession } from './session.js';
import type { CompilerSettings } from './settings.js';
import { isSnapshotDue } from './snapshot-decision.js';
import { stallThresholdMs } from './watchdog-decision.js';
import { checkEpoch, checkStall } from './watchdogs.js';
import type { CompilerOps } from './compiler-ops.js';

const RESTART_DELAY_MS = 1_000;
/** How often a replica sweeps the set store (contents stay at least SETS_SWEEP_GRACE_MS after their last store). */
const SETS_SWEEP_EVERY_MS = 5 * 60_000;
/** Following, no message came for this long after one that was not judged the head: evaluate what is folded. */
const IDLE_EVALUATE_MS = 50;

/**
 * The compiler service's steps over one CompilerState: passes (catch up from the newest snapshot and the
 * backlog, then follow) one after another until stopped; evaluations one at a time; a heartbeat writing
 * the status record, snapshotting when due and watching for a stalled consumer or a recreated stream.
 */
export class Compiler implements CompilerHandle {
  private readonly s: CompilerState;
  private readonly startedAt = new Date().toISOString();
  private readonly statusWriter: StatusWriter<CompilerStatus>;
  private readonly stallMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Rules upkeep (compaction, set sweep) running now; when the last sweep of the set store ran. */
  private upkeeping = false;
  private lastSweepAt = performance.now();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly nats: CompilerNats,
    private readonly settings: CompilerSettings,
    private readonly opts: CompilerOptions,
    readonly instance: string,
    private readonly log: Logger,
    private readonly ops: CompilerOps,
    /** Where `ops` serves its endpoints (undefined: not served). */
    readonly httpPort: number | undefined,
  ) {
    const epoch = nats.streams.epoch;
    const signedEvents = settings.signing.watchers.mode === 'signed';
    this.s = initialState(newSession(epoch, this.rulesStore(epoch), emptyState(epoch, signedEvents), 0, performance.now()), performance.now(), signedEvents, new InputLedger(log));
    warnAboutSigning(settings.signing, log);
    this.statusWriter = new StatusWriter(compilerStatusKey(instance), () => this.status(), log, nats.statusBucket);
    this.stallMs = stallThresholdMs(settings.heartbeatMs);
    ops.attach(() => {
      const { caughtUp, consumedSeq, evaluatedSeq, backlogEnd } = this.s.session;
      return { restarting: this.s.phase === 'restarting', caughtUp, consumedSeq, evaluatedSeq, backlogEnd };
    });
  }

  /** Starts the heartbeat and the passes. */
  start(): CompilerHandle {
    this.heartbeat = setInterval(() => this.beat(), this.settings.heartbeatMs);
    this.loop = this.run();
    return this;
  }

  status(): CompilerStatus {
    const { epoch, session: s, counters } = this.s;
    return {
      schema: STATUS_SCHEMA, instance: this.instance, epoch, startedAt: this.startedAt, heartbeatAt: new Date().toISOString(),
      // held by the publish gate, the replica has published nothing of what it folded: `knp wait` must not count it
      lastSeq: s.consumedSeq, evaluatedSeq: s.evaluatedSeq, caughtUp: s.caughtUp && !s.gated, startedFromSeq: s.startedFromSeq,
      lastSnapshotSeq: s.lastSnapshotSeq, nodes: s.view.size, ...counters,
      signing: signingStatus(this.settings.signing, publishGate(this.s.signedEvents, s.evaluatedState)),
      input: this.s.input.report(),
    };
  }

  ruleSets(): ReadonlyMap<string, RuleSet> {
    return this.s.session.view;
  }

  async caughtUp(seq?: number): Promise<void> {
    const target = seq ?? (await this.nats.jsm.streams.info(this.nats.streams.eventsStream)).state.last_seq;
    if (isCaughtUpTo(this.s.session, target)) return;
    await new Promise<void>((resolve) => this.s.waiters.push({ seq: target, resolve }));
  }

  /** Snapshots what is folded so far (events not folded yet are left for the next one); one write at a time. */
  async snapshot(): Promise<number> {
    if (this.s.snapshotting) return this.s.snapshotting;
    this.s.snapshotting = this.writeSnapshot();
    try {
      return await this.s.snapshotting;
    } finally {
      this.s.snapshotting = undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.s.phase = 'stopping';
    clearInterval(this.heartbeat);
    await this.ops.close(); // first: nothing below waiting on NATS keeps the port
    clearTimeout(this.s.idleTimer);
    await this.s.follow.source?.close();
    await this.loop;
    await this.s.snapshotting;
    await this.statusWriter.close();
    if (this.nats.ownsConnection) await this.nats.nc.close();
    this.log.info('compiler stopped');
  }

  /** A getter, so that a check after an await reads the phase anew. */
  private get stopping(): boolean {
    return this.s.phase === 'stopping';
  }

  /** Passes until stopped; after one that ends (stream recreated) or fails, a fresh one after a pause. */
  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.catchUp();
        await this.follow();
      } catch (err) {
        if (this.stopping) break;
        this.log.error({ err }, 'compiler session failed, starting over');
      }
      if (!this.stopping) await sleep(RESTART_DELAY_MS);
    }
  }

  /**
   * Starts a pass: the stream's epoch, its newest snapshot and the backlog's end (the stream's last sequence
   * now). `follow` reads the backlog; with nothing to replay, this publishes what the snapshot says.
   */
  private async catchUp(): Promise<void> {
    this.s.session.caughtUp = false; // before any await: nothing of the last pass may look current
    clearTimeout(this.s.idleTimer);
    const { nc, jsm, prefix, streams, snapshots } = this.nats;
    // the events stream gone (deleted, not yet recreated by `knp init`): wait for it, then start on its epoch
    const found = (await streamEpoch(jsm, streams.eventsStream)) ?? (await awaitStreams(nc, prefix, ['events'], this.log, () => this.stopping))?.epoch;
    if (found === undefined) throw new Error('stopped while waiting for the events stream'); // run() ends the loop
    this.s.epoch = found;
    if (this.s.phase === 'restarting') this.s.phase = 'running';
    const epoch = this.s.epoch;
    const rules = this.rulesStore(epoch);
    const t0 = performance.now();
    const snapshot = this.opts.ignoreSnapshots ? undefined : await snapshots.loadNewest(epoch);
    const snapshotMs = Math.round(performance.now() - t0);
    const { first_seq: firstSeq, last_seq: lastSeq } = (await jsm.streams.info(streams.eventsStream)).state;
    if (snapshot && snapshot.seq + 1 < firstSeq) this.log.warn({ snapshotSeq: snapshot.seq, firstSeq }, 'events after the snapshot were removed by a limit');
    if (!snapshot && firstSeq > 1) this.log.warn({ firstSeq }, 'no snapshot and the stream no longer starts at 1: state is partial');
    const start = snapshot ? resumeState(snapshot.state, this.s.signedEvents) : emptyState(epoch, this.s.signedEvents);
    const s = (this.s.session = newSession(epoch, rules, start, lastSeq, performance.now()));
    this.log.info({ epoch, snapshotSeq: snapshot?.seq ?? 0, snapshotMs, lastSeq }, 'compiler starting');
    if (s.backlogEnd <= s.state.seq) await this.evaluate(); // nothing to replay
  }

  /**
   * Reads the stream after what is consumed, the backlog first, until stopped or the consumer is closed.
   * One consumer at a time; a stalled one (see checkStall) is replaced, going on after the last consumed message.
   */
  private async follow(): Promise<void> {
    const f = this.s.follow;
    for (;;) {
      f.reopening = false;
      const afterSeq = this.s.session.consumedSeq;
      f.source = await openEventSource(this.nats.js, this.nats.jsm, this.nats.prefix, afterSeq, this.log, this.settings.signing.watchers);
      this.log.debug({ afterSeq }, 'event source opened');
      f.lastMessageAt = performance.now();
      f.waiting = true;
      for await (const consumed of f.source) {
        f.waiting = false;
        f.lastMessageAt = performance.now();
        if (this.stopping) break;
        await this.onMessage(consumed);
        f.waiting = true;
        f.lastMessageAt = performance.now();
      }
      f.waiting = false;
      if (!f.reopening || this.s.phase !== 'running') break;
    }
  }

  /** One message: take it in, then evaluate now, when idle or later; snapshot if due. */
  private async onMessage(consumed: Consumed): Promise<void> {
    const s = this.s.session;
    const event = admit(consumed, s.marks, this.s.input);
    consume(s, consumed, event, performance.now());
    this.ops.consumed(consumed, event);
    const next = afterMessage(consumed, { caughtUp: s.caughtUp, backlogEnd: s.backlogEnd, unevaluated: s.arrivals.length, maxBatchEvents: this.settings.maxBatchEvents });
    switch (next) {
      case 'evaluate':
        await this.evaluate();
        break;
      case 'evaluate-when-idle':
        this.armIdleEvaluation();
        break;
      case 'read-on':
        break;
      default:
        assertNever(next);
    }
    if (this.snapshotDue()) void this.snapshot(); // the state is immutable: the loop goes on folding meanwhile
  }

  /** Queues an evaluation after the one running, if any. */
  private evaluate(): Promise<void> {
    clearTimeout(this.s.idleTimer);
    this.s.idleTimer = undefined;
    const next = this.s.evaluating.then(() => this.evaluateNow());
    this.s.evaluating = next.catch(() => undefined);
    return next;
  }

  /** Nothing judged the last message the head; if nothing follows soon, it was. */
  private armIdleEvaluation(): void {
    clearTimeout(this.s.idleTimer);
    this.s.idleTimer = setTimeout(() => {
      this.s.idleTimer = undefined;
      const { consumedSeq, evaluatedSeq } = this.s.session;
      if (!isIdleEvaluationDue({ phase: this.s.phase, consumedSeq, evaluatedSeq })) return;
      this.evaluate().catch((err: unknown) => {
        this.log.error({ err }, 'evaluation failed, starting over');
        void this.s.follow.source?.close();
      });
    }, IDLE_EVALUATE_MS);
  }

  /** Evaluates the current pass, then answers the waiters it satisfies and writes the status. */
  private async evaluateNow(): Promise<void> {
    const s = this.s.session;
    const evaluation = await evaluatePass(this.s, this.nats.statusBucket, this.log, this.ops);
    this.ops.evaluated(evaluation);
    this.opts.onEvaluated?.(evaluation);
    const { ready, waiting } = releaseWaiters(this.s.waiters, s.evaluatedSeq);
    this.s.waiters = waiting;
    for (const w of ready) w.resolve();
    void this.statusWriter.write();
  }

  /** Writes the state folded so far; a failure is logged and the next due snapshot tries again. */
  private async writeSnapshot(): Promise<number> {
    const s = this.s.session;
    const snap = s.state;
    const t0 = performance.now();
    try {
      const bytes = await this.nats.snapshots.save(snap, this.settings.snapshotsKept);
      s.lastSnapshotSeq = Math.max(s.lastSnapshotSeq, snap.seq);
      this.log.info({ seq: snap.seq, bytes, ms: Math.round(performance.now() - t0) }, 'snapshot written');
    } catch (err) {
      this.log.error({ err, seq: snap.seq }, 'snapshot write failed');
    } finally {
      s.lastSnapshotAt = performance.now();
    }
    return snap.seq;
  }

  private snapshotDue(): boolean {
    const s = this.s.session;
    const { snapshotEveryEvents: everyEvents, snapshotEveryMs: everyMs } = this.settings;
    const msSinceSnapshot = performance.now() - s.lastSnapshotAt;
    return isSnapshotDue({ caughtUp: s.caughtUp, snapshotting: this.s.snapshotting !== undefined, foldedSeq: s.state.seq, lastSnapshotSeq: s.lastSnapshotSeq, msSinceSnapshot, everyEvents, everyMs });
  }

  /** Every heartbeat: the status record, the two watchdogs, and a snapshot if one is due. */
  private beat(): void {
    void this.statusWriter.write();
    void refreshRejections(this.s, this.nats.statusBucket, this.log);
    void checkEpoch(this.s, this.nats, this.log);
    void checkStall(this.s, this.nats, this.stallMs, this.log);
    if (this.snapshotDue() && !this.stopping) void this.snapshot();
    if (this.s.session.caughtUp && !this.upkeeping && !this.stopping) void this.upkeep();
  }

  /**
   * Off the event path, one at a time: compaction of long delta chains (node subjects and set contents) and,
   * every SETS_SWEEP_EVERY_MS, the sweep of set contents no retained message names. Racing a publish is
   * safe (each names the subject's last sequence); a failure is logged and the next heartbeat tries again.
   */
  private async upkeep(): Promise<void> {
    this.upkeeping = true;
    const sweep = performance.now() - this.lastSweepAt >= SETS_SWEEP_EVERY_MS;
    try {
      const done = await this.s.session.rules.upkeep({ sweep });
      if (sweep) this.lastSweepAt = performance.now();
      if (done.compacted + done.setsCompacted + done.setsPurged > 0) this.log.info(done, 'rules upkeep');
    } catch (err) {
      this.log.warn({ err }, 'rules upkeep failed, trying again at the next heartbeat');
    } finally {
      this.upkeeping = false;
    }
  }

  /** A pass's own view of the rules stream (its cache is the pass's); the max payload is read anew, as it may change on reconnect. */
  private rulesStore(epoch: string): RulesStore {
    const { signer, compilers: trust } = this.settings.signing;
    const { js, jsm, prefix, nc } = this.nats;
    return new RulesStore(js, jsm, prefix, nc.info?.max_payload ?? 1024 * 1024, this.log, { epoch, signer, trust }, { pointerMinNodes: this.settings.pointerMinNodes });
  }
}
