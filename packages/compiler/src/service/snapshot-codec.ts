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

/** Serializes a state folded from the stream `epoch` (pure). */
export function encodeSnapshot(state: ClusterState): Uint8Array {
  const snapshot: Snapshot = { schema: SNAPSHOT_SCHEMA, epoch: state.epoch, seq: state.seq, state };
  const text = JSON.stringify(snapshot, (_key, value: unknown) => (typeof value === 'bigint' ? { [BIGINT]: value.toString() } : value));
  return Buffer.from(text, 'utf8');
}

/**
 * Parses a snapshot and checks it belongs to the stream `epoch`: a snapshot of a recreated stream, or in a
 * format this reader does not know, is refused with a SnapshotError (the caller replays from the start).
 */
export function decodeSnapshot(data: Uint8Array, epoch: string): Snapshot {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'), (_key, v: unknown) =>
      v !== null && typeof v === 'object' && typeof (v as Record<string, unknown>)[BIGINT] === 'string' ? BigInt((v as Record<string, string>)[BIGINT]!) : v,
    );
  } catch (err) {
    throw new SnapshotError('snapshot is not valid JSON', { cause: err });
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
