import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { JSONCodec, connect, type ConsumerMessages, type JsMsg, type KV, type NatsConnection } from 'nats';
import { STATUS_SCHEMA, applierStatusKey, names, type ApplierErrorKind, type ApplierRecord, type Config, type Logger, type RuleSet, type RuleSetVersion } from '@knp/shared';
import { ChunkError, ensureStreams, readLarge } from '@knp/shared/nats';
import { Applier, ApplyError, type ApplyOutcome } from '../applier.js';
import type { Backend } from '../backend.js';
import { admitRuleSet } from './admit.js';
import { createBackend } from '../kernel/select.js';
import { KernelMemory } from '../kernel/kernel-memory.js';
import { durableName, ensureDurable, readNewest } from './rules-source.js';
import type { ApplierSettings } from './settings.js';
import { readState, stateFilePath, writeState } from './state-file.js';


export type Applied = { readonly ruleSet: RuleSet; readonly outcome: ApplyOutcome; readonly appliedAt: string; readonly source: string };

export type ApplierServiceOptions = {
  readonly settings: ApplierSettings;
  /** A backend to drive instead of the one KNP_BACKEND names (tests). */
  readonly backend?: Backend;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.natsUrls`, retried forever. */
  readonly nc?: NatsConnection;
  /** Called after every rule set that is now in force (applied or found unchanged). */
  readonly onApplied?: (applied: Applied) => void;
};

export type ApplierHandle = {
  readonly instance: string;
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
  const { settings } = opts;
  const node = settings.node;
  const instance = randomUUID();
  const log = logger.child({ component: 'applier', node });
  const n = names(config.prefix);
  const subject = n.rulesSubject(node);
  const statePath = stateFilePath(settings.stateDir, config.prefix, node);
  const startedAt = new Date().toISOString();

  let inForce: { version: RuleSetVersion; hash: string; appliedAt: string } | undefined;
  let lastError: ApplierRecord['error'];
  let persisted: RuleSet | undefined;
  let readBack: { hash: string; fingerprint: string } | undefined;
  let kv: KV | undefined;
  let stopping = false;

  const persist = (ruleSet: RuleSet): void => {
    persisted = ruleSet;
    const fingerprint = readBack?.hash === ruleSet.contentHash ? readBack.fingerprint : undefined;
    try {
      writeState(statePath, { ruleSet, ...(fingerprint ? { fingerprint } : {}) });
    } catch (err) {
      log.error({ err, path: statePath }, 'state file write failed; a restart will load the rules again');
    }
  };
  const onReadBack = (hash: string, fingerprint: string): void => {
    readBack = { hash, fingerprint };
    if (persisted?.contentHash === hash) persist(persisted);
  };

  const stored = readState(statePath, node);
  if (stored.kind === 'invalid') log.warn({ path: statePath, reason: stored.reason }, 'state file unusable, starting without it');
  const remembered = stored.kind === 'found' && stored.state.fingerprint ? { contentHash: stored.state.ruleSet.contentHash, fingerprint: stored.state.fingerprint } : undefined;
  const memory = new KernelMemory(opts.backend ?? createBackend(settings.kernel, config.prefix, log), remembered, log, onReadBack);
  const applier = new Applier(memory, { log });

  const record = (): ApplierRecord => ({
    schema: STATUS_SCHEMA, node, instance, backend: memory.kind, startedAt, heartbeatAt: new Date().toISOString(),
    heartbeatMs: settings.heartbeatMs, ...(inForce ?? {}), ...(lastError ? { error: lastError } : {}),
    kernelWrites: memory.kernelWrites, repairs: applier.status.repairs,
  });

  // one status write in flight; requests during a write are coalesced into the next one
  let writing: Promise<void> | undefined;
  let writeAgain = false;
  let writeFailing = false;
  const writeStatus = async (): Promise<void> => {
    if (!kv) return;
    if (writing) return void (writeAgain = true);
    writing = (async () => {
      do {
        writeAgain = false;
        try {
          await kv!.put(applierStatusKey(node), JSONCodec().encode(record()));
          if (writeFailing) log.info('status write works again');
          writeFailing = false;
        } catch (err) {
          if (!writeFailing) log.warn({ err }, 'status write failed (logged once until it works again)');
          writeFailing = true;
        }
      } while (writeAgain && !stopping);
    })();
    await writing;
    writing = undefined;
  };

  const report = (kind: ApplierErrorKind, message: string, version?: RuleSetVersion): void => {
    lastError = { kind, message, at: new Date().toISOString(), ...(version ? { version } : {}) };
    void writeStatus();
  };

  /** Applies one admitted rule set; false when it failed after the core's retries (the previous rules stay). */
  const apply = async (ruleSet: RuleSet, source: string): Promise<boolean> => {
    let outcome: ApplyOutcome;
    try {
      outcome = await applier.apply(ruleSet);
    } catch (err) {
      if (!(err instanceof ApplyError)) log.error({ err, version: ruleSet.version, source }, 'rule set apply failed unexpectedly');
      report('apply-failed', (err as Error).message, ruleSet.version);
      return false;
    }
    if (outcome.kind === 'stale') {
      log.debug({ version: ruleSet.version, applied: outcome.applied, source }, 'rule set not newer than the one in force');
      return true;
    }
    const appliedAt = new Date().toISOString();
    inForce = { version: ruleSet.version, hash: ruleSet.contentHash, appliedAt };
    lastError = undefined;
    if (outcome.kind === 'unchanged') log.info({ version: ruleSet.version, hash: ruleSet.contentHash, source }, 'rule set unchanged, version recorded');
    persist(ruleSet);
    void writeStatus();
    opts.onApplied?.({ ruleSet, outcome, appliedAt, source });
    return true;
  };

  /** Admits and applies one payload from the stream; false asks for a later redelivery. */
  const handlePayload = async (payload: Uint8Array, source: string): Promise<boolean> => {
    const admission = admitRuleSet(payload, node);
    if (admission.kind === 'refuse') {
      log.warn({ reason: admission.reason, version: admission.version, source }, 'rule set refused, current rules kept');
      report('refused', admission.reason, admission.version);
      return true; // redelivery would refuse it again
    }
    return apply(admission.ruleSet, source);
  };

  const handleMessage = async (m: JsMsg): Promise<void> => {
    let payload: Uint8Array | undefined;
    try {
      payload = await readLarge(await nc!.jetstreamManager(), n.rulesStream, { subject: m.subject, data: m.data, headers: m.headers });
    } catch (err) {
      // a part evicted or unreadable: a few more tries (a transient read error), then report and move on
      const final = !(err instanceof ChunkError) || m.info.redeliveryCount >= 3;
      log.warn({ err, seq: m.seq, final }, 'rule set unreadable');
      if (final) {
        report('unreadable', (err as Error).message);
        m.ack();
      } else m.nak(settings.retryDelayMs);
      return;
    }
    if (payload === undefined || (await handlePayload(payload, `stream seq ${m.seq}`))) m.ack();
    else m.nak(settings.retryDelayMs);
  };

  // 1. the state file: enforce what was last applied, NATS or not
  if (stored.kind === 'found') {
    log.info({ version: stored.state.ruleSet.version, hash: stored.state.ruleSet.contentHash, path: statePath }, 'applying the stored rule set');
    persisted = stored.state.ruleSet;
    await apply(stored.state.ruleSet, 'state file');
  }

  const reconcileTimer =
    settings.reconcileMs > 0
      ? setInterval(() => {
          applier.reconcile().then(
            (outcome) => {
              if (outcome === 'repaired') void writeStatus();
            },
            (err: unknown) => report('apply-failed', `drift repair failed: ${(err as Error).message}`),
          );
        }, settings.reconcileMs)
      : undefined;
  const heartbeatTimer = setInterval(() => void writeStatus(), settings.heartbeatMs);

  // 2. and 3. NATS: the newest rule set, then the durable consumer; everything retried until stopped
  let nc: NatsConnection | undefined = opts.nc;
  let messages: ConsumerMessages | undefined;
  let markFollowing: () => void = () => {};
  const isFollowing = new Promise<void>((resolve) => (markFollowing = resolve));

  const connectForever = async (): Promise<NatsConnection | undefined> => {
    for (let attempt = 0; !stopping; attempt += 1) {
      try {
        return await connect({ servers: [...config.natsUrls], name: `knp-applier`, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_DELAY_MS });
      } catch (err) {
        if (attempt === 0) log.warn({ err }, 'NATS unreachable, enforcing the stored rules and retrying');
        await sleep(RECONNECT_DELAY_MS);
      }
    }
    return undefined;
  };

  const session = async (conn: NatsConnection): Promise<void> => {
    const js = conn.jetstream();
    const jsm = await conn.jetstreamManager();
    const streams = await ensureStreams(conn, config.prefix, settings.streams);
    kv = await js.views.kv(streams.statusBucket);
    void writeStatus();
    const durable = durableName(config.prefix, node);
    await ensureDurable(jsm, streams.rulesStream, durable, subject);
    const newest = await readNewest(jsm, streams.rulesStream, subject);
    if (newest) await handlePayload(newest.payload, `newest (stream seq ${newest.seq})`);
    const consumer = await js.consumers.get(streams.rulesStream, durable);
    messages = await consumer.consume({ max_messages: 16 });
    log.info({ durable, subject }, 'following the rules subject');
    markFollowing();
    for await (const m of messages) {
      if (stopping) break;
      await handleMessage(m);
    }
  };

  const loop = (async () => {
    nc ??= await connectForever();
    if (!nc) return;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') log.warn({ server: s.data }, 'NATS disconnected, still enforcing');
        if (s.type === 'reconnect') {
          log.info({ server: s.data }, 'NATS reconnected');
          void writeStatus();
        }
      }
    })();
    while (!stopping) {
      try {
        await session(nc);
      } catch (err) {
        if (stopping) break;
        log.warn({ err }, 'rules session failed, starting it again');
      }
      if (!stopping) await sleep(SESSION_RESTART_MS);
    }
  })();

  return {
    instance,
    record,
    following: () => isFollowing,
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      clearInterval(reconcileTimer);
      clearInterval(heartbeatTimer);
      await messages?.close();
      await loop;
      await writing;
      stopping = false; // let the final record through
      await writeStatus();
      stopping = true;
      if (!opts.nc) await nc?.drain().catch(() => undefined);
      log.info({ version: inForce?.version }, 'applier stopped, rules left in force');
    },
  };
}
