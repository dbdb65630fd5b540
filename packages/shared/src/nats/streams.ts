import { names } from '../names.js';
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
  /** Rule set versions kept per node on the rules stream. */
  readonly rulesPerNode: number;
  /** Revisions kept per key in the status bucket. */
  readonly statusHistory: number;
};

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  replicas: 1,
  duplicateWindowMs: 2 * 60_000,
  eventsMaxAgeMs: 0,
  eventsMaxBytes: 0,
  rulesPerNode: 5,
  statusHistory: 5,
};

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
  return {
    name: n.rulesStream,
    subjects: [n.rulesSubjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    duplicate_window: nanos(s.duplicateWindowMs),
    max_msgs_per_subject: s.rulesPerNode,
    allow_direct: true,
  };
}

/**
 * Creates or updates the events and rules streams and the status bucket; safe to run from every service at
 * once. Returns the names and the epoch (the events stream's `created` timestamp).
 */
export async function ensureStreams(nc: NatsConnection, prefix: string, settings: StreamSettings): Promise<Streams> {
  const jsm = await nc.jetstreamManager();
  const events = await ensureStream(jsm, eventsStreamConfig(prefix, settings));
  await ensureStream(jsm, rulesStreamConfig(prefix, settings));
  const n = names(prefix);
  await nc.jetstream().views.kv(n.statusBucket, { history: settings.statusHistory, replicas: settings.replicas });
  return { eventsStream: n.eventsStream, rulesStream: n.rulesStream, statusBucket: n.statusBucket, epoch: events.created };
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
