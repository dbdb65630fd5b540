import { names, type Logger } from '@knp/shared';
import { StorageType, type JetStreamClient, type ObjectStore } from 'nats';
import type { ClusterState } from '../state.js';
import { SnapshotError, decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot-codec.js';

/** Snapshot objects are named by the sequence they cover, zero-padded so names sort like sequences. */
const NAME = /^state-(\d{16})$/;
const nameOf = (seq: number): string => `state-${String(seq).padStart(16, '0')}`;

/**
 * The `<PREFIX>_snapshots` object store: one object per snapshot, the newest few kept. A snapshot of
 * another epoch or in an unknown format is refused (logged) and the next older one is tried.
 */
export class SnapshotStore {
  private constructor(private readonly os: ObjectStore, private readonly log: Logger) {}

  static async open(js: JetStreamClient, prefix: string, replicas: number, log: Logger): Promise<SnapshotStore> {
    const os = await js.views.os(names(prefix).snapshotBucket, { storage: StorageType.File, replicas });
    return new SnapshotStore(os, log);
  }

  /** The stored snapshots (sequence and the epoch their description names), newest first. */
  async list(): Promise<Array<{ seq: number; epoch: string }>> {
    const out: Array<{ seq: number; epoch: string }> = [];
    for (const info of await this.os.list()) {
      const m = NAME.exec(info.name);
      if (m && !info.deleted) out.push({ seq: Number(m[1]), epoch: (info.description ?? '').replace(/^epoch /, '') });
    }
    return out.sort((a, b) => b.seq - a.seq);
  }

  /** The newest usable snapshot of stream `epoch` covering at most `maxSeq`, if any. */
  async loadNewest(epoch: string, maxSeq = Number.MAX_SAFE_INTEGER): Promise<Snapshot | undefined> {
    for (const { seq, epoch: described } of await this.list()) {
      if (seq > maxSeq) continue;
      if (described !== epoch) {
        this.log.warn({ seq, snapshotEpoch: described, epoch }, 'snapshot of another stream epoch refused');
        continue;
      }
      try {
        const data = await this.os.getBlob(nameOf(seq));
        if (data === null) continue;
        return decodeSnapshot(data, epoch);
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        this.log.warn({ err, seq }, 'snapshot refused');
      }
    }
    return undefined;
  }

  /** Stores a snapshot of `state`, then deletes all but the newest `keep`. Returns its size in bytes. */
  async save(state: ClusterState, keep: number): Promise<number> {
    const data = encodeSnapshot(state);
    await this.os.putBlob({ name: nameOf(state.seq), description: `epoch ${state.epoch}` }, data);
    const all = await this.list();
    const stale = [...all.filter((s) => s.epoch !== state.epoch), ...all.filter((s) => s.epoch === state.epoch).slice(Math.max(1, keep))];
    for (const { seq } of stale) {
      // another replica may be deleting the same object: losing that race is fine
      await this.os.delete(nameOf(seq)).catch((err: unknown) => this.log.debug({ err, seq }, 'old snapshot already gone'));
    }
    return data.length;
  }
}
