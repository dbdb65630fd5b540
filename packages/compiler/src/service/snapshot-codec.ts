import { gunzipSync, gzipSync } from 'node:zlib';
import { SchemaError, checkSchema } from '@knp/shared';
import type { ClusterState } from '../state.js';
import { stateFromJson } from '../state-json.js';

/**
 * Version of the snapshot format; a reader refuses any other. Bump it whenever ClusterState changes shape.
 * 2: records validated at the edge (an older state may hold what the readers now reject), tables without prototype.
 * 3: the state's `trust` (signed fold, replay guard, synced kinds). A schema-2 snapshot is refused like any
 * other unknown format: the compiler replays the stream from its start (or an older usable snapshot).
 * 4: Nodes and ClusterNetworkPolicies (`nodes`, `clusterPolicies`); a schema-3 state never folded them.
 */
export const SNAPSHOT_SCHEMA = 4;

/** What a snapshot holds: the folded state, the stream it was folded from and the last sequence it covers. */
export type Snapshot = { readonly schema: typeof SNAPSHOT_SCHEMA; readonly epoch: string; readonly seq: number; readonly state: ClusterState };

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

// Parsed CIDRs hold bigints, which JSON cannot carry: they travel as {"$bigint": "<decimal>"}.
const BIGINT = '$bigint';

const withBigints = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? { [BIGINT]: value.toString() } : value);

/** Serializes a state folded from the stream `epoch` (pure). */
export function encodeSnapshot(state: ClusterState): Uint8Array {
  const snapshot: Snapshot = { schema: SNAPSHOT_SCHEMA, epoch: state.epoch, seq: state.seq, state };
  // gzip at its fastest level: the 10k-pod state's 7.3 MiB of JSON become about a tenth, for ~50 ms; a
  // restart reads the snapshot from the object store chunk by chunk, so the bytes are the cost
  return gzipSync(Buffer.from(JSON.stringify(snapshot, withBigints), 'utf8'), { level: 1 });
}

/** A snapshot as stored: gzip (since issue 15) or, from before, the JSON itself. */
function snapshotText(data: Uint8Array): string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes, { maxOutputLength: MAX_SNAPSHOT_BYTES }).toString('utf8');
  return bytes.toString('utf8');
}

/**
 * The largest snapshot JSON inflated (a bound against a hostile object): the 100k-pod state is ~70 MiB, and
 * V8's longest string (~512 MiB) would fail anyway, after the memory was spent.
 */
const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/** Revives {"$bigint": "<decimal>"} objects in place, anywhere in `value`. */
function reviveBigints(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (!Array.isArray(o) && typeof o[BIGINT] === 'string') return BigInt(o[BIGINT]);
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v !== null && typeof v === 'object') o[key] = reviveBigints(v);
  }
  return o;
}

/**
 * Parses a snapshot and checks it belongs to the stream `epoch`: a snapshot of a recreated stream, or in a
 * format this reader does not know, is refused with a SnapshotError (the caller replays from the start).
 */
export function decodeSnapshot(data: Uint8Array, epoch: string): Snapshot {
  let value: unknown;
  try {
    value = JSON.parse(snapshotText(data));
    // bigints live in parsed policies (NetworkPolicy and ClusterNetworkPolicy) only; the other tables cannot
    // hold a "$bigint" key (label keys have no "$")
    const state = (value as { state?: { policies?: unknown; clusterPolicies?: unknown } } | null)?.state;
    if (state !== null && typeof state === 'object') {
      if (state.policies !== undefined) state.policies = reviveBigints(state.policies);
      if (state.clusterPolicies !== undefined) state.clusterPolicies = reviveBigints(state.clusterPolicies);
    }
  } catch (err) {
    throw new SnapshotError('snapshot is not valid JSON (or gzip of it)', { cause: err });
  }
  try {
    checkSchema('snapshot', value, SNAPSHOT_SCHEMA);
  } catch (err) {
    if (err instanceof SchemaError) throw new SnapshotError(err.message, { cause: err });
    throw err;
  }
  const s = value as Snapshot;
  if (s.epoch !== epoch) throw new SnapshotError(`snapshot of stream epoch ${JSON.stringify(s.epoch)}, the stream's is ${JSON.stringify(epoch)}`);
  if (!Number.isInteger(s.seq) || s.seq < 0 || s.state?.seq !== s.seq || s.state.epoch !== s.epoch) throw new SnapshotError('snapshot header does not match its state');
  try {
    return { ...s, state: stateFromJson(s.state) };
  } catch (err) {
    throw new SnapshotError('snapshot state is malformed', { cause: err });
  }
}
