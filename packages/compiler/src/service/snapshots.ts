import { checkSignature, names, type Logger, type SigningKey, type Trust } from '@knp/shared';
import { type JetStreamClient, type ObjectInfo, type ObjectStore } from 'nats';
import type { ClusterState } from '../state.js';
import { SnapshotError, decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot-codec.js';

/** Snapshot objects are named by the sequence they cover, zero-padded so names sort like sequences. */
const NAME = /^state-(\d{16})$/;
const nameOf = (seq: number): string => `state-${String(seq).padStart(16, '0')}`;

/** Object metadata keys holding a snapshot's signer and signature (over snapshotSignedBytes). */
const KEY_ID_META = 'knp-key-id';
const SIGNATURE_META = 'knp-signature';
/** The bytes a compiler signs for a snapshot: a domain tag, then the encoded snapshot. */
export const snapshotSignedBytes = (data: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('knp-snapshot\n', 'utf8'), data]);

/**
 * How snapshots are signed and which are loaded: `signer` signs what this replica writes; `trust` (trusted
 * compiler keys) decides whose snapshots are loaded; `requireSignedFold`: a snapshot whose state was folded
 * without requiring signed events is not loaded (a compiler requiring them replays the stream instead).
 */
export type SnapshotSigning = { readonly signer: SigningKey | undefined; readonly trust: Trust; readonly requireSignedFold: boolean };
const UNSIGNED: SnapshotSigning = { signer: undefined, trust: { mode: 'unsigned' }, requireSignedFold: false };
/**
 * The `<PREFIX>_snapshots` object store: one object per snapshot, the newest few kept. A snapshot of
 * another epoch, in an unknown format, unsigned or signed by an untrusted key (when compiler keys are
 * trusted), or folded unsigned (when signed events are required) is refused (logged) and the next older
 * one is tried; none usable means a replay from the start of the stream, never a failure.
 */
export class SnapshotStore {
  private constructor(private readonly os: ObjectStore, private readonly log: Logger, private readonly signing: SnapshotSigning) {}

  /** Opens the store `knp init` made (the client only looks it up when it exists). */
  static async open(js: JetStreamClient, prefix: string, log: Logger, signing: SnapshotSigning = UNSIGNED): Promise<SnapshotStore> {
    const os = await js.views.os(names(prefix).snapshotBucket);
    return new SnapshotStore(os, log, signing);
  }

  /** The stored snapshots (sequence and the epoch their description names), newest first. */
  async list(): Promise<Array<{ seq: number; epoch: string; info: ObjectInfo }>> {
    const out: Array<{ seq: number; epoch: string; info: ObjectInfo }> = [];
    for (const info of await this.os.list()) {
      const m = NAME.exec(info.name);
      if (m && !info.deleted) out.push({ seq: Number(m[1]), epoch: (info.description ?? '').replace(/^epoch /, ''), info });
    }
    return out.sort((a, b) => b.seq - a.seq);
  }

  /** The newest usable snapshot of stream `epoch` covering at most `maxSeq`, if any. */
  async loadNewest(epoch: string, maxSeq = Number.MAX_SAFE_INTEGER): Promise<Snapshot | undefined> {
    for (const { seq, epoch: described, info } of await this.list()) {
      if (seq > maxSeq) continue;
      if (described !== epoch) {
        this.log.warn({ seq, snapshotEpoch: described, epoch }, 'snapshot of another stream epoch refused');
        continue;
      }
      try {
        const data = await this.os.getBlob(nameOf(seq));
        if (data === null) continue;
        const found = { keyId: info.metadata?.[KEY_ID_META], signature: info.metadata?.[SIGNATURE_META] };
        const refusal = checkSignature(this.signing.trust, found, snapshotSignedBytes(data));
        if (refusal) {
          this.log.warn({ seq, reason: refusal.reason, detail: refusal.detail }, 'snapshot refused: not signed by a trusted compiler key');
          continue;
        }
        const snapshot = decodeSnapshot(data, epoch);
        if (this.signing.requireSignedFold && !snapshot.state.trust.signed) {
          this.log.warn({ seq }, 'snapshot refused: folded without requiring signed events');
          continue;
        }
        return snapshot;
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
    const signer = this.signing.signer;
    const metadata = signer ? { [KEY_ID_META]: signer.keyId, [SIGNATURE_META]: signer.sign(snapshotSignedBytes(data)) } : undefined;
    await this.os.putBlob({ name: nameOf(state.seq), description: `epoch ${state.epoch}`, ...(metadata ? { metadata } : {}) }, data);
    const all = await this.list();
    const stale = [...all.filter((s) => s.epoch !== state.epoch), ...all.filter((s) => s.epoch === state.epoch).slice(Math.max(1, keep))];
    for (const { seq } of stale) {
      // another replica may be deleting the same object: losing that race is fine
      await this.os.delete(nameOf(seq)).catch((err: unknown) => this.log.debug({ err, seq }, 'old snapshot already gone'));
    }
    return data.length;
  }
}
