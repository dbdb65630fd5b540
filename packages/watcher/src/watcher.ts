import { randomUUID } from 'node:crypto';
import { OBJECT_KINDS, STATUS_SCHEMA, WATCHER_STATUS_KEY, names, type Config, type KindStatus, type Logger, type ObjectKind, type WatcherStatus } from '@knp/shared';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { JSONCodec, connect, type KV, type NatsConnection } from 'nats';
import { startKindInformer, type KindInformer } from './informers.js';
import { Ledger } from './ledger.js';
import { Publisher } from './publisher.js';
import { readLastPerSubject } from './replay.js';
import { DEFAULT_STREAM_SETTINGS, ensureStreams, streamEpoch, type StreamSettings, type Streams } from '@knp/shared/nats';
import { trimObject } from './trim.js';

export type WatcherOptions = {
  readonly streams?: Partial<StreamSettings>;
  readonly heartbeatMs?: number;
  readonly restartMinMs?: number;
  readonly restartMaxMs?: number;
  readonly ackTimeoutMs?: number;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.natsUrls`. */
  readonly nc?: NatsConnection;
  /** A loaded kubeconfig; otherwise the file `kubeconfigPath` (KUBECONFIG), else in-cluster. */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfigPath?: string;
};

export type WatcherHandle = {
  readonly instance: string;
  epoch(): string;
  status(): WatcherStatus;
  /** Resolves once everything seen so far is acknowledged by the stream. */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

type KindState = { resourceVersion: string; listed: boolean };

/**
 * The watcher service: lists and watches Pods, Namespaces and NetworkPolicies, publishes what the compiler
 * needs to `<PREFIX>_EVENTS` in API order (one publish in flight, acked before the next), a sync marker after
 * every list, and a status record with a heartbeat. Recreates the streams and republishes everything when
 * the events stream disappears or is recreated under the same name (a new epoch).
 */
export async function runWatcher(config: Config, logger: Logger, opts: WatcherOptions = {}): Promise<WatcherHandle> {
  const log = logger.child({ component: 'watcher' });
  const instance = randomUUID();
  const settings: StreamSettings = { ...DEFAULT_STREAM_SETTINGS, ...opts.streams };
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const nc = opts.nc ?? (await connect({ servers: [...config.natsUrls], name: 'knp-watcher', maxReconnectAttempts: -1 }));
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  let streams: Streams = await ensureStreams(nc, config.prefix, settings);
  const kv: KV = await js.views.kv(streams.statusBucket);
  const startedAt = new Date().toISOString();
  log.info({ instance, stream: streams.eventsStream, epoch: streams.epoch }, 'watcher starting');

  const ledger = new Ledger();
  const seeded = await readLastPerSubject(js, jsm, streams.eventsStream, names(config.prefix).eventsSubjects, log);
  for (const event of seeded) ledger.seed(event);
  log.info({ subjects: seeded.length }, 'stream state read');

  const kinds = new Map<ObjectKind, KindState>(OBJECT_KINDS.map((k) => [k, { resourceVersion: '', listed: false }]));
  const publisher = new Publisher(
    js,
    { prefix: config.prefix, maxPayload: nc.info?.max_payload ?? 1024 * 1024, ackTimeoutMs: opts.ackTimeoutMs ?? 5_000, retryMinMs: 100, retryMaxMs: 5_000 },
    log,
    () => void writeStatus(),
  );
  const kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfigPath);
  let informers: KindInformer[] = [];

  const startInformers = (): void => {
    informers = OBJECT_KINDS.map((kind) =>
      startKindInformer(kc, kind, {
        onList: (items, resourceVersion) => onList(kind, items, resourceVersion),
        onChange: (type, object) => onChange(kind, type, object),
      }, { restartMinMs: opts.restartMinMs ?? 200, restartMaxMs: opts.restartMaxMs ?? 10_000 }, log),
    );
  };
  const onList = (kind: ObjectKind, items: readonly KubernetesObject[], resourceVersion: string): void => {
    const trimmed = items.map((o) => trimObject(kind, o)).filter((t) => t !== undefined);
    const events = ledger.list(kind, trimmed, resourceVersion);
    kinds.set(kind, { resourceVersion, listed: true });
    log.info({ kind, items: items.length, resourceVersion, events: events.length }, 'list received');
    publisher.push(events);
    if (events.length === 0) void writeStatus();
  };
  const onChange = (kind: ObjectKind, type: 'add' | 'update' | 'delete', object: KubernetesObject): void => {
    const trimmed = trimObject(kind, object);
    if (trimmed === undefined) return log.warn({ kind }, 'object without uid or name ignored');
    const state = kinds.get(kind)!;
    state.resourceVersion = newerVersion(state.resourceVersion, trimmed.metadata.resourceVersion);
    const event = ledger.change(kind, type, trimmed);
    if (event === undefined) log.debug({ kind, uid: trimmed.metadata.uid, type }, 'irrelevant change filtered');
    else publisher.push([event]);
  };

  const status = (): WatcherStatus => {
    const perKind = {} as Record<ObjectKind, KindStatus>;
    for (const kind of OBJECT_KINDS) {
      const s = kinds.get(kind)!;
      const informerRv = informers.find((i) => i.kind === kind)?.latestResourceVersion() ?? '';
      perKind[kind] = { resourceVersion: newerVersion(s.resourceVersion, informerRv), listed: s.listed, objects: ledger.size(kind) };
    }
    return {
      schema: STATUS_SCHEMA,
      instance,
      epoch: streams.epoch,
      startedAt,
      heartbeatAt: new Date().toISOString(),
      kinds: perKind,
      pending: publisher.pending,
      upToDate: OBJECT_KINDS.every((k) => kinds.get(k)!.listed) && publisher.isIdle,
      published: publisher.published,
      duplicates: publisher.duplicates,
      lastSeq: publisher.lastSeq,
    };
  };
  // one write in flight; a request during a write is coalesced into the next one
  let writing: Promise<void> | undefined;
  let again = false;
  const writeStatus = async (): Promise<void> => {
    if (writing) { again = true; return writing; }
    writing = (async () => {
      do {
        again = false;
        try {
          await kv.put(WATCHER_STATUS_KEY, JSONCodec().encode(status()));
        } catch (err) {
          log.warn({ err }, 'status write failed');
        }
      } while (again && !stopping);
    })();
    await writing;
    writing = undefined;
  };

  // The events stream recreated or gone: everything the ledger says is published is not. Start over.
  const checkEpoch = async (): Promise<void> => {
    const epoch = await streamEpoch(jsm, streams.eventsStream);
    if (epoch === streams.epoch) return;
    const previous = streams.epoch;
    streams = await ensureStreams(nc, config.prefix, settings);
    log.warn({ previous, epoch: streams.epoch }, 'events stream recreated, republishing everything');
    const old = informers;
    informers = [];
    await Promise.all(old.map((i) => i.stop()));
    publisher.clear();
    ledger.clear();
    for (const kind of OBJECT_KINDS) kinds.set(kind, { resourceVersion: '', listed: false });
    startInformers();
  };

  let stopping = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  const heartbeat = async (): Promise<void> => {
    try {
      await checkEpoch();
    } catch (err) {
      log.warn({ err }, 'stream check failed');
    }
    await writeStatus();
    if (!stopping) heartbeatTimer = setTimeout(() => void heartbeat(), heartbeatMs);
  };

  startInformers();
  heartbeatTimer = setTimeout(() => void heartbeat(), heartbeatMs);

  return {
    instance,
    epoch: () => streams.epoch,
    status,
    idle: () => publisher.idle(),
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(heartbeatTimer);
      await Promise.all(informers.map((i) => i.stop()));
      await Promise.race([publisher.idle(), new Promise((r) => setTimeout(r, 5_000).unref())]);
      publisher.stop();
      await writing;
      stopping = false; // let the final record through
      await writeStatus();
      stopping = true;
      log.info({ instance, published: publisher.published, duplicates: publisher.duplicates }, 'watcher stopped');
      if (opts.nc === undefined) await nc.drain();
    },
  };
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}

/** resourceVersions are opaque strings; both of ours come from the same server, so prefer the numerically larger when both are numbers. */
function newerVersion(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? (BigInt(a) >= BigInt(b) ? a : b) : b;
}
