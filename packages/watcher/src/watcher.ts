import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { WATCHED_KINDS, WATCHER_STATUS_KEY, names, type Config, type Logger, type WatchedKind, type SigningKey, type WatcherStatus } from '@knp/shared';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { type JetStreamManager, type KV, type NatsConnection } from 'nats';
import { StatusWriter, awaitStreams, connectNats, streamEpoch, type Streams } from '@knp/shared/nats';
import { DEFAULT_LIST_PAGE_SIZE, startKindInformer, type KindInformer } from './informers.js';
import { DEFAULT_MAX_QUEUE, nextFlow, type Flow } from './backpressure.js';
import { DEFAULT_LEASE_SETTINGS, LeaseKeeper, type LeaseSettings, type LostReason } from './lease-keeper.js';
import { EventSigner } from './event-signer.js';
import { Ledger } from './ledger.js';
import { Publisher } from './publisher.js';
import { readLastPerSubject } from './replay.js';
import { trimObject } from './trim.js';
import { WatcherOps } from './watcher-ops.js';
import { NOT_LISTED, newerVersion, watcherStatus, type KindProgress, type WatcherFacts } from './watcher-status.js';

export type WatcherOptions = {
  readonly heartbeatMs?: number;
  readonly restartMinMs?: number;
  readonly restartMaxMs?: number;
  readonly ackTimeoutMs?: number;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.nats` as the watcher role. */
  readonly nc?: NatsConnection;
  /** A loaded kubeconfig; otherwise the file `kubeconfigPath` (KUBECONFIG), else in-cluster. */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfigPath?: string;
  /** Signs every event (KNP_SIGNING_KEY); without it events are published unsigned, with a warning. */
  readonly signer?: SigningKey;
  /** The Lease only the active watcher holds (default DEFAULT_LEASE_SETTINGS). */
  readonly lease?: LeaseSettings;
  /** The first half of our lease identity (`<pod>/<instance>`); default the host name (a pod's name). */
  readonly podName?: string;
  /**
   * Called once the lease is lost, after publishing and the informers were stopped. `knp watcher` exits the
   * process here so Kubernetes restarts it as a standby; in-process users get a stopped watcher.
   */
  readonly onLeaseLost?: (reason: LostReason) => void;
  /** Events waiting for the stream above which the informers stop until half of them are published. */
  readonly maxQueue?: number;
  /** Items per list page (limit/continue). */
  readonly listPageSize?: number;
};

export type WatcherHandle = {
  readonly instance: string;
  /** The port /healthz, /readyz and /metrics are served on (config.httpPort; undefined = not served). */
  readonly httpPort: number | undefined;
  epoch(): string;
  status(): WatcherStatus;
  /** Resolves once everything seen so far is acknowledged by the stream. */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

/** The streams the watcher writes: events, and its status key. */
const WATCHER_NEEDS = ['events', 'status'] as const;

/** How long `stop()` lets the publisher finish what it holds before giving up on it. */
const STOP_PUBLISH_WAIT_MS = 5_000;

/**
 * The watcher service: lists and watches Pods, Namespaces, NetworkPolicies, Nodes and (when its CRD is
 * installed) ClusterNetworkPolicies, publishes what the compiler needs to `<PREFIX>_EVENTS` in API order
 * (one publish in flight, acked before the next), a sync marker after every list (an empty one for a kind
 * whose CRD is not installed), and a status record with a heartbeat. Waits for the streams `knp init`
 * makes, and republishes everything when the events stream is recreated under the same name (a new epoch).
 */
export async function runWatcher(config: Config, logger: Logger, opts: WatcherOptions = {}): Promise<WatcherHandle> {
  const ops = new WatcherOps(); // served while the start waits for NATS: alive, not ready
  const httpPort = await ops.serve(config.httpPort, logger.child({ component: 'ops' }));
  const service = await WatcherService.connect(config, logger.child({ component: 'watcher' }), opts, ops).catch(async (err: unknown) => {
    await ops.close();
    throw err;
  });
  await service.acquireLease(); // standby until then: no informers, no publishing
  await service.seedLedger(); // after the lease: the previous holder has stopped publishing
  service.startInformers();
  service.scheduleHeartbeat();
  return { instance: service.instance, httpPort, epoch: () => service.epoch, status: () => service.status(), idle: () => service.idle(), stop: () => service.stop() };
}

/** Everything the service keeps between its steps (the ledger and the publisher hold the rest). */
type WatcherState = {
  /** The streams as last ensured; a new `epoch` means the events stream was recreated. */
  streams: Streams;
  /** Per kind: the newest resourceVersion our callbacks saw, and whether a list completed since the (re)start. */
  kinds: Record<WatchedKind, KindProgress>;
  informers: KindInformer[];
  /** Paused: the publisher holds more than `maxQueue` events, the informers are stopped until it drains. */
  flow: Flow;
  pausing: Promise<void>;
  heartbeatTimer: NodeJS.Timeout | undefined;
  /** No more publishing: a stop began or the lease was lost. */
  stopping: boolean;
  closed: boolean;
};

/**
 * The watcher's steps over `WatcherState`: connect, seed the ledger from the stream, start informers, turn
 * each list and change into events (the Ledger decides which), publish them, and on a heartbeat check the
 * stream's epoch and write the status record (`watcherStatus`).
 */
class WatcherService {
  readonly instance = randomUUID();
  private readonly startedAt = new Date().toISOString();
  private readonly state: WatcherState;
  private readonly ledger = new Ledger();
  private readonly publisher: Publisher;
  private readonly statusWriter: StatusWriter<WatcherStatus>;
  private readonly kc: KubeConfig;
  private readonly signer: EventSigner | undefined;
  private readonly lease: LeaseKeeper;
  private readonly maxQueue: number;

  /** Step 1: NATS, the streams and the status bucket; a failure here fails the start. */
  static async connect(config: Config, log: Logger, opts: WatcherOptions, ops: WatcherOps): Promise<WatcherService> {
    const nc = opts.nc ?? (await connectNats(config.nats, 'watcher', { maxReconnectAttempts: -1, waitOnFirstConnect: true }));
    const streams = (await awaitStreams(nc, config.prefix, WATCHER_NEEDS, log))!;
    const kv = await nc.jetstream().views.kv(streams.statusBucket);
    return new WatcherService(config, log, opts, nc, await nc.jetstreamManager(), streams, kv, ops);
  }

  private constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly opts: WatcherOptions,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    streams: Streams,
    kv: KV,
    private readonly ops: WatcherOps,
  ) {
    this.state = { streams, kinds: notListed(), informers: [], flow: 'flowing', pausing: Promise.resolve(), heartbeatTimer: undefined, stopping: false, closed: false };
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.signer = opts.signer ? new EventSigner(opts.signer) : undefined;
    this.publisher = new Publisher(
      nc.jetstream(),
      {
        prefix: config.prefix, maxPayload: nc.info?.max_payload ?? 1024 * 1024, ackTimeoutMs: opts.ackTimeoutMs ?? 5_000, retryMinMs: 100, retryMaxMs: 5_000,
        ...(this.signer ? { signer: this.signer } : {}),
      },
      log,
      () => void this.statusWriter.write(),
      {
        queued: (pending) => this.ops.queued(pending),
        attempted: (event, outcome, pending) => {
          this.ops.attempted(event, outcome, pending);
          this.checkFlow();
        },
      },
    );
    this.statusWriter = new StatusWriter(WATCHER_STATUS_KEY, () => this.status(), log, kv);
    this.kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfigPath);
    this.lease = new LeaseKeeper(this.kc, opts.lease ?? DEFAULT_LEASE_SETTINGS, `${opts.podName ?? hostname()}/${this.instance}`, log.child({ component: 'lease' }));
    ops.attach(() => ({ standby: !this.lease.leading && !this.state.stopping, unlisted: WATCHED_KINDS.filter((kind) => !this.state.kinds[kind].listed), pending: this.publisher.pending }));
    log.info({ instance: this.instance, stream: streams.eventsStream, epoch: streams.epoch, keyId: opts.signer?.keyId }, 'watcher starting');
    if (!opts.signer) log.warn('event signing off: KNP_SIGNING_KEY is unset, so compilers that require signed events will refuse everything published');
  }

  get epoch(): string {
    return this.state.streams.epoch;
  }

  /** Step 1b: wait, as a standby, until we hold the Lease; from then on losing it stops everything at once. */
  async acquireLease(): Promise<void> {
    await this.lease.acquire((reason) => this.onLeaseLost(reason));
  }

  /**
   * The lease is lost: another watcher may be publishing now, and our stale sync markers would delete its
   * newer objects. Stop publishing first (synchronously: nothing queued goes out), then the informers.
   */
  private onLeaseLost(reason: LostReason): void {
    if (this.state.stopping) return;
    this.state.stopping = true;
    this.publisher.stop();
    clearTimeout(this.state.heartbeatTimer);
    void Promise.all(this.state.informers.map((i) => i.stop()));
    this.log.error({ instance: this.instance, reason, published: this.publisher.published }, 'lease lost: publishing stopped');
    this.opts.onLeaseLost?.(reason);
  }

  /** Step 2: what the stream already says about every object, so a restart publishes only what changed. */
  async seedLedger(): Promise<void> {
    const { eventsStream } = this.state.streams;
    // signing, only what this key signed counts as published: unsigned history (signing just turned on) or
    // another key's (a key change) is published again, signed, so the stream holds every object signed
    const signer = this.signer;
    const keep = signer ? (h: Parameters<EventSigner['signedByUs']>[0], data: Uint8Array) => signer.signedByUs(h, data) : undefined;
    const seeded = await readLastPerSubject(this.nc.jetstream(), this.jsm, eventsStream, names(this.config.prefix).eventsSubjects, this.log, keep);
    for (const event of seeded) this.ledger.seed(event);
    this.log.info({ subjects: seeded.length }, 'stream state read');
  }

  /** Step 3: one informer per kind, each calling `onList` and `onChange`. */
  startInformers(): void {
    const policy = { restartMinMs: this.opts.restartMinMs ?? 200, restartMaxMs: this.opts.restartMaxMs ?? 10_000, pageSize: this.opts.listPageSize ?? DEFAULT_LIST_PAGE_SIZE };
    this.state.informers = WATCHED_KINDS.map((kind) =>
      startKindInformer(this.kc, kind, {
        onList: (items, resourceVersion) => this.onList(kind, items, resourceVersion),
        onChange: (type, object) => this.onChange(kind, type, object),
        onAbsent: () => this.onAbsent(kind),
      }, policy, this.log),
    );
  }

  /** Step 4: a complete list (start, 410 Gone): adds, modifications and deletions since the ledger, then a sync marker. */
  private onList(kind: WatchedKind, items: readonly KubernetesObject[], resourceVersion: string): void {
    const trimmed = items.map((o) => trimObject(kind, o)).filter((t) => t !== undefined);
    const events = this.ledger.list(kind, trimmed, resourceVersion);
    this.state.kinds[kind] = { resourceVersion, listed: true };
    this.ops.listed(kind, this.ledger.size(kind));
    this.log.info({ kind, items: items.length, resourceVersion, events: events.length }, 'list received');
    this.publisher.push(events); // step 6: publish, in order, one at a time
    this.checkFlow();
    if (events.length === 0) void this.statusWriter.write(); // the publisher will not go idle again to say so
  }

  /**
   * Step 4b: the kind is not served (the ClusterNetworkPolicy CRD is not installed, or was removed): there
   * are none, so publish what an empty list would (deletions of those still published, an empty sync that
   * lets a compiler's publish gate open). The ledger repeats nothing while it stays absent.
   */
  private onAbsent(kind: WatchedKind): void {
    const progress = this.state.kinds[kind];
    if (!progress.absent) this.log.info({ kind }, 'kind not served (CRD not installed): publishing an empty sync, discovering again with backoff');
    // no list gives a resourceVersion: the newest seen of any kind (the API's revision), '0' before any
    const resourceVersion = WATCHED_KINDS.map((k) => this.state.kinds[k].resourceVersion).reduce(newerVersion, '') || '0';
    const events = this.ledger.list(kind, [], resourceVersion);
    this.state.kinds[kind] = { resourceVersion: progress.resourceVersion, listed: true, absent: true };
    this.ops.listed(kind, 0);
    this.publisher.push(events);
    this.checkFlow();
    if (events.length === 0) void this.statusWriter.write();
  }

  /** Step 5: one watched change; the ledger drops those that change nothing the compiler reads. */
  private onChange(kind: WatchedKind, type: 'add' | 'update' | 'delete', object: KubernetesObject): void {
    const trimmed = trimObject(kind, object);
    if (trimmed === undefined) return this.log.warn({ kind }, 'object without uid or name ignored');
    const progress = this.state.kinds[kind];
    this.state.kinds[kind] = { ...progress, resourceVersion: newerVersion(progress.resourceVersion, trimmed.metadata.resourceVersion) };
    const event = this.ledger.change(kind, type, trimmed);
    if (event === undefined) this.log.debug({ kind, uid: trimmed.metadata.uid, type }, 'irrelevant change filtered');
    else {
      this.publisher.push([event]);
      this.checkFlow();
    }
    this.ops.changed(kind, this.ledger.size(kind));
  }

  /**
   * Step 5b, backpressure (`nextFlow`): over `maxQueue` pending events the informers stop (we stop reading
   * the API); at half they start again, and their list brings what changed meanwhile through the ledger.
   */
  private checkFlow(): void {
    const flow = nextFlow(this.state.flow, this.publisher.pending, this.maxQueue);
    if (flow === this.state.flow || this.state.stopping) return;
    this.state.flow = flow;
    if (flow === 'paused') {
      this.log.warn({ pending: this.publisher.pending, maxQueue: this.maxQueue }, 'publish queue over its bound: informers stopped until it drains');
      const old = this.state.informers;
      this.state.informers = [];
      this.state.pausing = Promise.all(old.map((i) => i.stop())).then(() => undefined);
    } else {
      this.log.info({ pending: this.publisher.pending }, 'publish queue drained: informers listing again');
      void this.state.pausing.then(() => {
        if (!this.state.stopping && this.state.flow === 'flowing' && this.state.informers.length === 0) this.startInformers();
      });
    }
  }

  /** Step 7: every `heartbeatMs`, check the stream's epoch, then write the status record. */
  scheduleHeartbeat(): void {
    if (!this.state.stopping) this.state.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.opts.heartbeatMs ?? 10_000);
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.checkEpoch();
    } catch (err) {
      this.log.warn({ err }, 'stream check failed');
    }
    await this.statusWriter.write();
    this.scheduleHeartbeat();
  }

  /** The events stream recreated or gone: everything the ledger says is published is not. Start over. */
  private async checkEpoch(): Promise<void> {
    const epoch = await streamEpoch(this.jsm, this.state.streams.eventsStream);
    if (epoch === this.state.streams.epoch) return;
    const previous = this.state.streams.epoch;
    const streams = await awaitStreams(this.nc, this.config.prefix, WATCHER_NEEDS, this.log, () => this.state.stopping);
    if (streams === undefined) return;
    this.state.streams = streams;
    this.log.warn({ previous, epoch: this.state.streams.epoch }, 'events stream recreated, republishing everything');
    const old = this.state.informers;
    this.state.informers = [];
    await Promise.all(old.map((i) => i.stop()));
    this.publisher.clear();
    this.ledger.clear();
    this.state.flow = 'flowing';
    this.state.kinds = notListed();
    this.ops.restarted();
    this.startInformers();
  }

  status(): WatcherStatus {
    const kinds = Object.fromEntries(WATCHED_KINDS.map((kind) => [kind, {
      ...this.state.kinds[kind],
      informerVersion: this.state.informers.find((i) => i.kind === kind)?.latestResourceVersion() ?? '',
      objects: this.ledger.size(kind),
    }])) as WatcherFacts['kinds'];
    const p = this.publisher;
    const publisher = { pending: p.pending, idle: p.isIdle, published: p.published, duplicates: p.duplicates, lastSeq: p.lastSeq };
    const signing = this.signer ? { signing: { keyId: this.signer.key.keyId, start: this.signer.start } } : {};
    return watcherStatus({ instance: this.instance, epoch: this.epoch, startedAt: this.startedAt, kinds, publisher, ...signing }, new Date().toISOString());
  }

  idle(): Promise<void> {
    return this.publisher.idle();
  }

  /** Step 8: informers first (nothing new comes in), then what the publisher holds, then the final record. */
  async stop(): Promise<void> {
    if (this.state.closed) return;
    this.state.closed = true;
    const lost = this.state.stopping; // the lease was lost: nothing more is published or recorded
    this.state.stopping = true;
    clearTimeout(this.state.heartbeatTimer);
    await this.ops.close(); // first: nothing below waiting on NATS keeps the port
    await Promise.all(this.state.informers.map((i) => i.stop()));
    if (!lost) await Promise.race([this.publisher.idle(), new Promise((resolve) => setTimeout(resolve, STOP_PUBLISH_WAIT_MS).unref())]);
    this.publisher.stop();
    if (!lost) await this.statusWriter.close();
    await this.lease.release();
    this.log.info({ instance: this.instance, published: this.publisher.published, duplicates: this.publisher.duplicates }, 'watcher stopped');
    if (this.opts.nc === undefined) await this.nc.drain();
  }
}

const notListed = (): Record<WatchedKind, KindProgress> => Object.fromEntries(WATCHED_KINDS.map((kind) => [kind, NOT_LISTED])) as Record<WatchedKind, KindProgress>;

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}
