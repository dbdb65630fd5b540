import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConsumerMessages, type JsMsg, type MsgHdrs, type NatsConnection } from 'nats';
import { applierStatusKey, names, type ApplierRecord, type Config, type Logger, type RuleSet } from '@knp/shared';
import { ChunkError, NatsConnectError, StatusWriter, awaitStreams, connectNats, readLarge, receivedRuleSet } from '@knp/shared/nats';
import { RECEIVED_AT_HEADER, parseReceivedAt } from '@knp/shared/ops';
import { Applier, ApplyError, type ApplyOutcome } from '../applier.js';
import type { Backend } from '../backend.js';
import { KernelMemory } from '../kernel/kernel-memory.js';
import { createBackend } from '../kernel/select.js';
import { otherKind, removeOtherBackend } from '../kernel/switch-backend.js';
import { ApplierOps } from './applier-ops.js';
import { applierRecord, reportInForce, reportProblem, type Reported } from './applier-record.js';
import { judgeHandled, type Handled, type Problem, type Verdict } from './handling.js';
import { checkRuleSet, isNodeMessagePayload } from '@knp/shared';
import { NO_REFUSALS, countRefusal, refusalsRecord, type Refusals } from './refusals.js';
import { durableName, ensureDurable, readEventsPosition, readNewest } from './rules-source.js';
import { expandForApplier } from './node-messages.js';
import { RenderError } from '../render/common/text.js';
import type { ApplierSettings } from './settings.js';
import { readState, stateFilePath, stateToStore, writeState, type ReadBack, type StoredState } from './state-file.js';

export type Applied = { readonly ruleSet: RuleSet; readonly outcome: ApplyOutcome; readonly appliedAt: string; readonly source: string };

export type ApplierServiceOptions = {
  readonly settings: ApplierSettings;
  /** A backend to drive instead of the one KNP_BACKEND names (tests). */
  readonly backend?: Backend;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.nats` as the applier role, retried forever. */
  readonly nc?: NatsConnection;
  /** Called after every rule set that is now in force (applied or found unchanged). */
  readonly onApplied?: (applied: Applied) => void;
};

export type ApplierHandle = {
  readonly instance: string;
  /** The port /healthz, /readyz and /metrics are served on (config.httpPort; undefined = not served). */
  readonly httpPort: number | undefined;
  record(): ApplierRecord;
  /** Resolves once the newest rule set on the stream was handled and the durable consumer follows the subject. */
  following(): Promise<void>;
  stop(): Promise<void>;
};

const RECONNECT_DELAY_MS = 1_000;
const SESSION_RESTART_MS = 1_000;

/**
 * The applier service of one node: enforces the rule set kept in the state file at once (NATS not needed),
 * then the node's newest rule set on the rules stream, then follows a durable consumer on its subject
 * (apply, then ack; stale versions are acked without a kernel write). Reports to the status bucket on every
 * change and heartbeat, repairs drift on a timer, and keeps enforcing whatever NATS does.
 */
export async function runApplierService(config: Config, logger: Logger, opts: ApplierServiceOptions): Promise<ApplierHandle> {
  const log = logger.child({ component: 'applier', node: opts.settings.node });
  const statePath = stateFilePath(opts.settings.stateDir, config.prefix, opts.settings.node);
  const service = new ApplierService(config, log, opts, statePath, readStoredState(statePath, opts.settings.node, log));
  const httpPort = await service.ops.serve(config.httpPort, log.child({ component: 'ops' }));
  await service.start();
  return { instance: service.instance, httpPort, record: () => service.record(), following: () => service.following, stop: () => service.stop() };
}

/** Everything the service keeps between its steps. */
type ApplierState = {
  /** What the status record says: the rule set in force and the last problem. */
  reported: Reported;
  /** Rule sets refused since start (acked, never applied or stored). */
  refusals: Refusals;
  /** The rule set the state file holds, and the kernel listing read back after the last full load. */
  stored: RuleSet | undefined;
  readBack: ReadBack | undefined;
  /** The connection (the caller's or ours) and the consumer being followed, once there are. */
  nc: NatsConnection | undefined;
  messages: ConsumerMessages | undefined;
  stopping: boolean;
};

/** Step 1, before anything else: the rule set last applied, if the state file holds a usable one. */
function readStoredState(path: string, node: string, log: Logger): StoredState | undefined {
  const stored = readState(path, node);
  if (stored.kind === 'invalid') log.warn({ path, reason: stored.reason }, 'state file unusable, starting without it');
  return stored.kind === 'found' ? stored.state : undefined;
}

/**
 * The service's steps over `ApplierState`; each decision in them is a pure function (`judgeHandled`,
 * `reportInForce`/`reportProblem`, `applierRecord`, `stateToStore`). The Applier core serialises every
 * kernel transaction, so the timers and the consume loop never race each other.
 */
class ApplierService {
  readonly instance = randomUUID();
  readonly following: Promise<void>;
  private markFollowing: () => void = () => {};
  private readonly state: ApplierState;
  private readonly settings: ApplierSettings;
  private readonly startedAt = new Date().toISOString();
  private readonly memory: KernelMemory;
  private readonly applier: Applier;
  private readonly status: StatusWriter<ApplierRecord>;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> = Promise.resolve();
  /** The other backend's leftovers (KNP_BACKEND was switched): removed once our first rule set is in force. */
  private otherBackend: 'pending' | 'removing' | 'done';
  readonly ops = new ApplierOps(() => ({ backend: this.memory.kind, inForce: this.state.reported.inForce?.version }));

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly opts: ApplierServiceOptions,
    private readonly statePath: string,
    private readonly storedAtStart: StoredState | undefined,
  ) {
    this.settings = opts.settings;
    this.state = { reported: {}, refusals: NO_REFUSALS, stored: storedAtStart?.ruleSet, readBack: undefined, nc: opts.nc, messages: undefined, stopping: false };
    this.following = new Promise((resolve) => (this.markFollowing = resolve));
    // a restart that finds the kernel listing what the state file says was loaded writes nothing (KernelMemory)
    const remembered = storedAtStart?.fingerprint ? { contentHash: storedAtStart.ruleSet.contentHash, fingerprint: storedAtStart.fingerprint } : undefined;
    const backend = opts.backend ?? createBackend(this.settings.kernel, config.prefix, log);
    this.memory = new KernelMemory(backend, remembered, log, (hash, fingerprint) => this.onReadBack({ hash, fingerprint }));
    this.applier = new Applier(this.memory, { log });
    this.status = new StatusWriter(applierStatusKey(this.settings.node), () => this.record(), log);
    // an injected backend (tests) owns its kernel; only the configured one clears up after the other kind
    this.otherBackend = opts.backend ? 'done' : 'pending';
  }

  /** Enforces the stored rule set, starts the timers, and leaves NATS to a loop that runs until `stop`. */
  async start(): Promise<void> {
    if (this.settings.trust.mode === 'unsigned')
      this.log.warn('KNP_TRUSTED_COMPILER_KEYS is not set: rule sets are applied without checking who signed them');
    await this.enforceStored();
    if (this.settings.reconcileMs > 0) this.timers.push(setInterval(() => this.reconcile(), this.settings.reconcileMs));
    this.timers.push(setInterval(() => void this.status.write(), this.settings.heartbeatMs));
    this.running = this.run();
  }

  record(): ApplierRecord {
    const { node, heartbeatMs } = this.settings;
    const facts = { node, instance: this.instance, backend: this.memory.kind, startedAt: this.startedAt, heartbeatMs, kernelWrites: this.memory.kernelWrites, repairs: this.applier.status.repairs, trust: this.settings.trust.mode, refused: refusalsRecord(this.state.refusals) };
    return applierRecord(this.state.reported, facts, new Date().toISOString());
  }

  async stop(): Promise<void> {
    if (this.state.stopping) return;
    this.state.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.ops.close(); // first: nothing below waiting on NATS keeps the port
    await this.state.messages?.close();
    await this.running;
    await this.memory.close(); // the nft session's child; the rules stay in force
    await this.status.close();
    if (!this.opts.nc) await this.state.nc?.drain().catch(() => undefined);
    this.log.info({ version: this.state.reported.inForce?.version }, 'applier stopped, rules left in force');
  }

  /** Step 2: the state file's rule set, enforced before NATS is even tried. */
  private async enforceStored(): Promise<void> {
    const stored = this.storedAtStart?.ruleSet;
    if (!stored) return;
    this.log.info({ version: stored.version, hash: stored.contentHash, path: this.statePath }, 'applying the stored rule set');
    this.act(await this.apply(stored, 'state file'), 'state file');
  }

  /** Steps 3 to 5, until stopped: connect, then sessions of catch-up and consume, each restarted when it fails. */
  private async run(): Promise<void> {
    const nc = (this.state.nc ??= await this.connect());
    if (!nc) return;
    void this.watchConnection(nc);
    while (!this.state.stopping) {
      try {
        await this.session(nc);
      } catch (err) {
        if (this.state.stopping) break;
        this.log.warn({ err }, 'rules session failed, starting it again');
      }
      if (!this.state.stopping) await sleep(SESSION_RESTART_MS);
    }
  }

  /** Step 3: a connection, tried until it works or the service stops (the stored rules stay enforced meanwhile). */
  private async connect(): Promise<NatsConnection | undefined> {
    for (let attempt = 0; !this.state.stopping; attempt += 1) {
      try {
        return await connectNats(this.config.nats, 'applier', { maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_DELAY_MS });
      } catch (err) {
        // a refused identity is logged every time: rotating the secret file fixes it without a restart
        if (err instanceof NatsConnectError) this.log.warn({ err }, 'NATS refused this identity, enforcing the stored rules and retrying');
        else if (attempt === 0) this.log.warn({ err }, 'NATS unreachable, enforcing the stored rules and retrying');
        await sleep(RECONNECT_DELAY_MS);
      }
    }
    return undefined;
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.log.warn({ server: s.data }, 'NATS disconnected, still enforcing');
      if (s.type === 'reconnect') {
        this.log.info({ server: s.data }, 'NATS reconnected');
        void this.status.write();
      }
    }
  }

  /**
   * Steps 4 and 5 on one connection: the streams (`knp init` makes them: waited for while missing), the
   * status bucket, catch up to the newest rule set, then consume.
   */
  private async session(nc: NatsConnection): Promise<void> {
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const streams = await awaitStreams(nc, this.config.prefix, ['rules', 'sets', 'status'], this.log, () => this.state.stopping);
    if (streams === undefined) return;
    this.status.bind(await js.views.kv(streams.statusBucket));
    void this.status.write();
    const subject = names(this.config.prefix).rulesSubject(this.settings.node);
    const durable = durableName(this.config.prefix, this.settings.node);
    await ensureDurable(jsm, streams.rulesStream, durable, subject);
    // step 4: catch up, so a new applier does not wait for the durable to reach the newest rule set
    const newest = await readNewest(jsm, streams.rulesStream, subject);
    if (newest) {
      const source = `newest (stream seq ${newest.seq})`;
      this.act(await this.admitAndApply(newest.payload, newest.headers, source), source);
    }
    // step 5: consume
    const messages = await (await js.consumers.get(streams.rulesStream, durable)).consume({ max_messages: 16 });
    this.state.messages = messages;
    // stop() came during the catch-up, before there was a consumer to close; closing only queues the end
    // in the iterator, so the loop below still runs to take it
    if (this.state.stopping) void messages.close();
    else {
      this.log.info({ durable, subject }, 'following the rules subject');
      this.markFollowing();
      this.ops.following();
    }
    for await (const m of messages) {
      if (this.state.stopping) break;
      await this.handleMessage(m);
    }
  }

  private async handleMessage(m: JsMsg): Promise<void> {
    const source = `stream seq ${m.seq}`;
    this.ops.busy();
    const verdict = this.act(await this.readAndApply(m, source), source, parseReceivedAt(m.headers?.get(RECEIVED_AT_HEADER) || undefined));
    if (verdict.settle.kind === 'ack') m.ack();
    else m.nak(verdict.settle.delayMs);
  }

  private async readAndApply(m: JsMsg, source: string): Promise<Handled> {
    let payload: Uint8Array | undefined;
    try {
      const jsm = await this.state.nc!.jetstreamManager();
      payload = await readLarge(jsm, names(this.config.prefix).rulesStream, { subject: m.subject, data: m.data, headers: m.headers });
    } catch (err) {
      return { kind: 'unreadable', err: err as Error, chunkError: err instanceof ChunkError, redeliveries: m.info.redeliveryCount };
    }
    return payload === undefined ? { kind: 'empty' } : this.admitAndApply(payload, m.headers, source, m.info.redeliveryCount);
  }

  /** Checks a rule set against the trusted keys and the events stream (`checkRuleSet`), then applies it. */
  private async admitAndApply(payload: Uint8Array, headers: MsgHdrs | undefined, source: string, redeliveries = 0): Promise<Handled> {
    const nc = this.state.nc!;
    const jsm = await nc.jetstreamManager();
    const events = await readEventsPosition(jsm, names(this.config.prefix).eventsStream);
    // no events stream: no epoch or seq to check against; not the message's fault, so it is retried (every
    // retry delay) until the stream exists again, never applied unchecked
    if (!events) return { kind: 'unreadable', err: new Error('the events stream does not exist'), chunkError: true, redeliveries: 0 };
    let received = receivedRuleSet(headers, payload), trust = this.settings.trust;
    if (isNodeMessagePayload(payload)) {
      // a node message (FULL or DELTA, sets by reference): made whole on the rules in force, its signature
      // checked on the message; the whole rule set then takes the same version checks as one published whole
      const transport = { js: nc.jetstream(), jsm, prefix: this.config.prefix, maxPayload: nc.info?.max_payload ?? 0, trust: this.settings.trust };
      const expanded = await expandForApplier(transport, this.settings.node, payload, headers, this.state.stored, redeliveries);
      if (expanded.kind !== 'expanded') return expanded;
      received = { statement: expanded.statement, signature: { keyId: undefined, signature: undefined }, body: expanded.payload };
      trust = { mode: 'unsigned' };
    }
    const check = checkRuleSet(received, trust, this.settings.node, events, this.applier.status.applied?.version);
    switch (check.kind) {
      case 'refuse':
        return { kind: 'refused', reason: check.reason, detail: check.detail, ...(check.version ? { version: check.version } : {}) };
      case 'stale':
        return { kind: 'done', ruleSet: check.ruleSet, outcome: { kind: 'stale', applied: check.applied } };
      case 'accept':
        return this.apply(check.ruleSet, source);
    }
  }

  /** Step 6: one admitted rule set through the Applier core (its retries included). */
  private async apply(ruleSet: RuleSet, source: string): Promise<Handled> {
    this.ops.busy();
    try {
      return { kind: 'done', ruleSet, outcome: await this.applier.apply(ruleSet) };
    } catch (err) {
      // the renderer would refuse it again: refuse it once, keep the rules in force, wait for the next version
      if (err instanceof ApplyError && err.cause instanceof RenderError) return { kind: 'refused', reason: 'unrenderable', detail: err.cause.message, version: ruleSet.version };
      if (!(err instanceof ApplyError)) this.log.error({ err, version: ruleSet.version, source }, 'rule set apply failed unexpectedly');
      return { kind: 'failed', err: err as Error, version: ruleSet.version };
    }
  }

  /** What follows from a handled rule set (`judgeHandled`): log it, report a problem, record the rules in force. */
  private act(handled: Handled, source: string, receivedAtMs?: number): Verdict {
    const verdict = judgeHandled(handled, this.settings.retryDelayMs);
    if (handled.kind === 'unreadable') this.log.warn({ err: handled.err, source, final: verdict.settle.kind === 'ack' }, 'rule set unreadable');
    if (handled.kind === 'refused') this.countRefusal(handled, source);
    if (handled.kind === 'done' && handled.outcome.kind === 'stale')
      this.log.debug({ version: handled.ruleSet.version, applied: handled.outcome.applied, source }, 'rule set not newer than the one in force');
    if (verdict.problem) this.report(verdict.problem);
    if (verdict.inForce && handled.kind === 'done') this.recordInForce(handled.ruleSet, handled.outcome, source);
    const objects = verdict.inForce && handled.kind === 'done' ? this.memory.objects(handled.ruleSet) : undefined;
    this.ops.handled(handled, verdict.problem, objects, receivedAtMs);
    return verdict;
  }

  /** Counts a refusal for the record; a burst of them is logged once, with how many went unlogged before. */
  private countRefusal(refused: Extract<Handled, { kind: 'refused' }>, source: string): void {
    const subject = names(this.config.prefix).rulesSubject(this.settings.node);
    const counted = countRefusal(this.state.refusals, { reason: refused.reason, detail: refused.detail, source }, Date.now(), new Date().toISOString());
    this.state.refusals = counted.refusals;
    if (counted.log)
      this.log.warn({ reason: refused.reason, detail: refused.detail, version: refused.version, subject, source, refusedSinceLastLog: counted.unlogged, total: counted.refusals.total }, 'rule set refused, current rules kept');
  }

  private recordInForce(ruleSet: RuleSet, outcome: ApplyOutcome, source: string): void {
    const appliedAt = new Date().toISOString();
    this.state.reported = reportInForce(ruleSet, appliedAt);
    if (outcome.kind === 'unchanged') this.log.info({ version: ruleSet.version, hash: ruleSet.contentHash, source }, 'rule set unchanged, version recorded');
    this.persist(ruleSet);
    void this.status.write();
    void this.removeOtherBackend();
    this.opts.onApplied?.({ ruleSet, outcome, appliedAt, source });
  }

  /**
   * Once a rule set of ours is in force, the other backend's objects go (a node switched from nftables to
   * iptables or back): until then they are what keeps isolated pods isolated. A failure is retried after
   * the next rule set in force.
   */
  private async removeOtherBackend(): Promise<void> {
    if (this.otherBackend !== 'pending') return;
    this.otherBackend = 'removing';
    const options = { prefix: this.config.prefix, netns: this.settings.kernel.netns, log: this.log };
    try {
      if (await removeOtherBackend(this.memory.kind, options)) this.log.info({ removed: otherKind(this.memory.kind) }, "the other backend's rules removed");
      this.otherBackend = 'done';
    } catch (err) {
      this.log.warn({ err, other: otherKind(this.memory.kind) }, "removing the other backend's rules failed; tried again after the next rule set");
      this.otherBackend = 'pending';
    }
  }

  /** Step 7: drift repair on a timer; a repair or its failure changes the record. */
  private reconcile(): void {
    this.applier.reconcile().then(
      (outcome) => {
        if (outcome === 'repaired') {
          this.ops.repaired();
          void this.status.write();
        }
      },
      (err: unknown) => this.report({ kind: 'apply-failed', message: `drift repair failed: ${(err as Error).message}` }),
    );
  }

  /** Step 8: a problem goes to the record at once (the rules in force stay). */
  private report(problem: Problem): void {
    this.state.reported = reportProblem(this.state.reported, problem, new Date().toISOString());
    void this.status.write();
  }

  private persist(ruleSet: RuleSet): void {
    this.state.stored = ruleSet;
    try {
      writeState(this.statePath, stateToStore(ruleSet, this.state.readBack));
    } catch (err) {
      this.log.error({ err, path: this.statePath }, 'state file write failed; a restart will load the rules again');
    }
  }

  /** The listing taken after a full load: kept with its rule set, so a restart can tell the kernel still holds it. */
  private onReadBack(readBack: ReadBack): void {
    this.state.readBack = readBack;
    if (this.state.stored?.contentHash === readBack.hash) this.persist(this.state.stored);
  }
}
