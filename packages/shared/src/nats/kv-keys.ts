import type { JetStreamManager } from 'nats';
import { isNotFound } from './errors.js';

/**
 * The keys of a KV bucket matching `filter` (a NATS subject pattern over keys, `>` for all), read from the
 * bucket stream's subject list in one request. The client's `kv.keys()` creates a consumer per call, and
 * on nats-server 2.9 it sometimes missed a key that the stream held (a restarted compiler's record, about
 * one listing in ten). Deleted keys are listed too (their tombstone is a message): read them to tell.
 * A missing bucket has no keys.
 */
export async function kvKeys(jsm: JetStreamManager, bucket: string, filter = '>'): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  try {
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
