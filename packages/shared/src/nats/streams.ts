import { setTimeout as sleep } from 'node:timers/promises';
import { names } from '../names.js';
import { NODE_SUBJECT_MESSAGES } from '../transport/node-chain.js';
import { ConfigError, intVariables } from '../config.js';
import { isNotFound } from './errors.js';
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  type StreamInfo,
} from 'nats';

/** How the streams are declared; `0` for maxAgeMs/maxBytes means unbounded (full history). */
export type StreamSettings = {
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly eventsMaxAgeMs: number;
  readonly eventsMaxBytes: number;
  /**
   * Messages kept per node on the rules stream: NODE_SUBJECT_MESSAGES, so a subject always holds its newest
   * FULL and the deltas after it (a reader rebuilds the head from them).
   */
  readonly rulesPerNode: number;
  /** Revisions kept per key in the status bucket. */
  readonly statusHistory: number;
  /**
   * A status record not written for this long expires (the bucket's max age): live services rewrite theirs
   * every heartbeat, so only the records of instances that are gone disappear.
   */
  readonly statusTtlMs: number;
};

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  replicas: 1,
  duplicateWindowMs: 2 * 60_000,
  eventsMaxAgeMs: 0,
  eventsMaxBytes: 0,
  rulesPerNode: NODE_SUBJECT_MESSAGES,
  statusHistory: 5,
  statusTtlMs: 86_400_000,
};

/**
 * `knp init`'s variables: KNP_STREAM_REPLICAS (1-5), KNP_EVENTS_MAX_AGE_S and KNP_EVENTS_MAX_BYTES (0 = keep
 * the full history), KNP_STATUS_TTL_S (status records of gone instances expire; default a day); every
 * problem is listed with variable, value and expectation.
 */
export function loadStreamSettings(env: Readonly<Record<string, string | undefined>>): StreamSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const replicas = int('KNP_STREAM_REPLICAS', DEFAULT_STREAM_SETTINGS.replicas, 1, 5);
  const maxAgeS = int('KNP_EVENTS_MAX_AGE_S', 0, 0, 10 * 365 * 86_400);
  const maxBytes = int('KNP_EVENTS_MAX_BYTES', 0, 0, Number.MAX_SAFE_INTEGER);
  // at least an hour: above any heartbeat (KNP_HEARTBEAT_S <= 3600) and the compiler's rejections refresh
  const statusTtlS = int('KNP_STATUS_TTL_S', DEFAULT_STREAM_SETTINGS.statusTtlMs / 1000, 3_600, 10 * 365 * 86_400);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...DEFAULT_STREAM_SETTINGS, replicas, eventsMaxAgeMs: maxAgeS * 1000, eventsMaxBytes: maxBytes, statusTtlMs: statusTtlS * 1000 };
}

export type Streams = {
  readonly eventsStream: string;
  readonly rulesStream: string;
  readonly statusBucket: string;
  /** The events stream's creation time: versions carry it so a recreated stream is never mistaken for the old one. */
  readonly epoch: string;
};

/** The desired configuration of the events stream (pure). */
export function eventsStreamConfig(prefix: string, s: StreamSettings): Partial<StreamConfig> & { name: string } {
  const n = names(prefix);
  return {
    name: n.eventsStream,
    subjects: [n.eventsSubjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    duplicate_window: nanos(s.duplicateWindowMs),
    max_age: nanos(s.eventsMaxAgeMs),
    max_bytes: s.eventsMaxBytes > 0 ? s.eventsMaxBytes : -1,
    max_msgs: -1,
    max_msgs_per_subject: -1,
    allow_direct: true,
  };
}

/** The desired configuration of the rules stream (pure): the last few rule sets per node. */
export function rulesStreamConfig(prefix: string, s: StreamSettings): Partial<StreamConfig> & { name: string } {
  const n = names(prefix);
  return { ...lastPerSubject(n.rulesStream, n.rulesSubjects, s), max_msgs_per_subject: s.rulesPerNode };
}

/** A file stream that keeps the last messages per subject, readable by direct get. */
function lastPerSubject(name: string, subjects: string, s: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    duplicate_window: nanos(s.duplicateWindowMs),
    allow_direct: true,
  };
}

/**
 * The desired configuration of the set store (pure): one message per set content, published once (msg id =
 * subject) and kept while a retained node message may name it (the compilers' sweep removes the rest).
 */
export function setsStreamConfig(prefix: string, s: StreamSettings): Partial<StreamConfig> & { name: string } {
  const n = names(prefix);
  return { ...lastPerSubject(n.setsStream, n.setsSubjects, s), max_msgs_per_subject: 1 };
}

/**
 * What `knp init` runs (and tests, and the demo): creates or updates the events, rules and sets streams, the
 * status bucket and the snapshot object store; idempotent, safe to run concurrently. Returns the names and
 * the epoch (the events stream's `created` timestamp). The services never create them: see `awaitStreams`.
 */
export async function ensureStreams(nc: NatsConnection, prefix: string, settings: StreamSettings): Promise<Streams> {
  const jsm = await nc.jetstreamManager();
  const events = await ensureStream(jsm, eventsStreamConfig(prefix, settings));
  await ensureStream(jsm, rulesStreamConfig(prefix, settings));
  await ensureStream(jsm, setsStreamConfig(prefix, settings));
  const n = names(prefix);
  const js = nc.jetstream();
  await js.views.kv(n.statusBucket, { history: settings.statusHistory, replicas: settings.replicas, ttl: settings.statusTtlMs });
  // a bucket made before (or with another TTL) gets this one: kv() does not change an existing bucket
  const statusStream = `KV_${n.statusBucket}`;
  const status = await jsm.streams.info(statusStream);
  if (status.config.max_age !== nanos(settings.statusTtlMs)) await jsm.streams.update(statusStream, { ...status.config, max_age: nanos(settings.statusTtlMs) });
  await js.views.os(n.snapshotBucket, { storage: StorageType.File, replicas: settings.replicas });
  return { eventsStream: n.eventsStream, rulesStream: n.rulesStream, statusBucket: n.statusBucket, epoch: events.created };
}

/** What a service uses of the layout `ensureStreams` makes. */
export type StreamNeed = 'events' | 'rules' | 'sets' | 'status' | 'snapshots';

/** The JetStream stream behind each need (a KV bucket is `KV_<bucket>`, an object store `OBJ_<bucket>`). */
export function streamOfNeed(prefix: string, need: StreamNeed): string {
  const n = names(prefix);
  switch (need) {
    case 'events':
      return n.eventsStream;
    case 'rules':
      return n.rulesStream;
    case 'sets':
      return n.setsStream;
    case 'status':
      return `KV_${n.statusBucket}`;
    case 'snapshots':
      return `OBJ_${n.snapshotBucket}`;
  }
}

/** The pause before the next look for missing streams: doubling from 250 ms, at most 10 s. */
export const missingStreamsBackoffMs = (attempt: number): number => Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));

/**
 * Waits until every stream of `needs` exists (made by `knp init`), looking again with backoff and logging
 * what is missing; the events stream, when needed, gives the epoch (empty otherwise). Resolves undefined
 * when `stopping()` turns true first.
 */
export async function awaitStreams(
  nc: NatsConnection,
  prefix: string,
  needs: readonly StreamNeed[],
  log: { warn(obj: object, msg: string): void },
  stopping: () => boolean = () => false,
): Promise<Streams | undefined> {
  const jsm = await nc.jetstreamManager();
  const n = names(prefix);
  for (let attempt = 0; !stopping(); attempt += 1) {
    const found = await Promise.all(needs.map(async (need) => ({ need, info: await streamInfo(jsm, streamOfNeed(prefix, need)) })));
    const missing = found.filter((f) => f.info === undefined).map((f) => streamOfNeed(prefix, f.need));
    if (missing.length === 0) {
      const epoch = found.find((f) => f.need === 'events')?.info?.created ?? '';
      return { eventsStream: n.eventsStream, rulesStream: n.rulesStream, statusBucket: n.statusBucket, epoch };
    }
    const retryMs = missingStreamsBackoffMs(attempt);
    log.warn({ missing, retryMs }, 'streams missing: run knp init; looking again');
    // in slices, so a service told to stop does not wait out a 10 s pause
    for (let waited = 0; waited < retryMs && !stopping(); waited += 250) await sleep(Math.min(250, retryMs - waited));
  }
  return undefined;
}

/** Adds the stream, or updates it when a field we declare differs; a concurrent add by another service is fine. */
export async function ensureStream(jsm: JetStreamManager, desired: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  const current = await streamInfo(jsm, desired.name);
  if (current === undefined) {
    try {
      return await jsm.streams.add(desired);
    } catch (err) {
      const raced = await streamInfo(jsm, desired.name);
      if (raced === undefined) throw err;
      return updateIfDiffers(jsm, raced, desired);
    }
  }
  return updateIfDiffers(jsm, current, desired);
}

/** The epoch of a stream, or undefined when it does not exist. */
export async function streamEpoch(jsm: JetStreamManager, name: string): Promise<string | undefined> {
  return (await streamInfo(jsm, name))?.created;
}

async function updateIfDiffers(jsm: JetStreamManager, current: StreamInfo, desired: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  const differs = (Object.keys(desired) as Array<keyof StreamConfig>).some(
    (key) => key !== 'storage' && JSON.stringify(current.config[key]) !== JSON.stringify(desired[key]),
  );
  if (!differs) return current;
  // storage cannot change on a live stream; everything else we declare can
  const { storage: _storage, ...rest } = desired;
  return jsm.streams.update(desired.name, { ...current.config, ...rest });
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
