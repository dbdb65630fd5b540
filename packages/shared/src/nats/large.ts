import { createHash } from 'node:crypto';
import { headers as natsHeaders, type JetStreamClient, type JetStreamManager, type MsgHdrs, type PubAck } from 'nats';

/**
 * Messages larger than the server's max payload are never dropped: they are split into parts published
 * first, each on `<subject>~<index>` (so a per-subject limit on the logical subject never evicts a part of
 * the newest message, and `~` never occurs in an encoded subject token), then a manifest on the subject
 * itself. The manifest has an empty body and these headers; a reader that sees CHUNK_PART skips the
 * message and one that sees CHUNK_COUNT calls `readLarge`. Used by the events and the rules stream.
 */
export const CHUNK_PART = 'Knp-Chunk-Part'; //   on a part: "<index>/<count>"
export const CHUNK_COUNT = 'Knp-Chunk-Count'; // on the manifest: number of parts
export const CHUNK_SEQS = 'Knp-Chunk-Seqs'; //   on the manifest: stream sequences of the parts, comma-separated
export const CHUNK_SIZE = 'Knp-Chunk-Size'; //   on the manifest: total bytes
export const CHUNK_SHA256 = 'Knp-Chunk-Sha256'; // on the manifest: hex sha256 of the whole payload

/** Room left in every part for the protocol line and headers (Nats-Msg-Id, expectations, ours). */
export const HEADER_ROOM_BYTES = 8 * 1024;

/**
 * The largest logical message either side takes: 256 MiB, far above any rule set or Kubernetes object (the
 * API server stores objects of at most ~1.5 MiB). A manifest declaring more is refused before any part is
 * fetched, so a forged manifest on the bus cannot make a reader fetch and hold gigabytes.
 */
export const MAX_LARGE_BYTES = 256 * 1024 * 1024;

export const chunkSubject = (subject: string, index: number): string => `${subject}~${index}`;

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** A payload over the bound of a message (`MAX_LARGE_BYTES`, or the `maxBytes` given): never stored, so retrying it is pointless. */
export class TooLargeError extends ChunkError {
  override name = 'TooLargeError';
}

/** Byte ranges [start, end) of the parts for a payload of `size` bytes; one range when it fits. */
export function planChunks(size: number, maxPayload: number): Array<readonly [number, number]> {
  const partSize = maxPayload - HEADER_ROOM_BYTES;
  if (partSize <= 0) throw new ChunkError(`max payload ${maxPayload} leaves no room for data`);
  if (size <= partSize) return [[0, size]];
  const ranges: Array<readonly [number, number]> = [];
  for (let start = 0; start < size; start += partSize) ranges.push([start, Math.min(size, start + partSize)]);
  return ranges;
}

export type PublishLargeOptions = {
  /** The server's max payload (`nc.info.max_payload`). */
  readonly maxPayload: number;
  /** Dedup id of the logical message; parts use `<msgID>~<index>`, so a retry with the same id stores nothing twice. */
  readonly msgID?: string;
  /** Expectations (e.g. lastSubjectSequence) apply to the manifest, i.e. to the logical message. */
  readonly expect?: Partial<{ lastSubjectSequence: number; lastSequence: number; streamName: string }>;
  readonly timeoutMs?: number;
  readonly headers?: MsgHdrs;
  /** The bound of the logical message, MAX_LARGE_BYTES unless lower (a test's). */
  readonly maxBytes?: number;
};

/** Publishes `data` as one message when it fits, else as parts plus a manifest. Returns the ack of the last message. */
export async function publishLarge(js: JetStreamClient, subject: string, data: Uint8Array, opts: PublishLargeOptions): Promise<PubAck> {
  const maxBytes = Math.min(MAX_LARGE_BYTES, opts.maxBytes ?? MAX_LARGE_BYTES);
  if (data.length > maxBytes) throw new TooLargeError(`${subject}: ${data.length} bytes is over the ${maxBytes}-byte limit of a message`);
  const ranges = planChunks(data.length, opts.maxPayload);
  const base = { ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}) };
  if (ranges.length === 1)
    return js.publish(subject, data, { ...base, ...idOpt(opts.msgID), ...(opts.expect ? { expect: opts.expect } : {}), ...(opts.headers ? { headers: opts.headers } : {}) });
  const seqs: number[] = [];
  for (const [index, [start, end]] of ranges.entries()) {
    const h = natsHeaders();
    h.set(CHUNK_PART, `${index}/${ranges.length}`);
    const ack = await js.publish(chunkSubject(subject, index), data.subarray(start, end), {
      ...base,
      headers: h,
      ...idOpt(opts.msgID === undefined ? undefined : `${opts.msgID}~${index}`),
    });
    seqs.push(ack.seq); // a duplicate ack carries the sequence of the stored original
  }
  const h = opts.headers ?? natsHeaders();
  h.set(CHUNK_COUNT, String(ranges.length));
  h.set(CHUNK_SEQS, seqs.join(','));
  h.set(CHUNK_SIZE, String(data.length));
  h.set(CHUNK_SHA256, createHash('sha256').update(data).digest('hex'));
  return js.publish(subject, new Uint8Array(0), { ...base, headers: h, ...idOpt(opts.msgID), ...(opts.expect ? { expect: opts.expect } : {}) });
}

export type LargeMessageKind = 'whole' | 'part' | 'manifest';

/** Tells a plain message from a part (skip it) and from a manifest (call `readLarge`). */
export function largeMessageKind(h: MsgHdrs | undefined): LargeMessageKind {
  if (h?.has(CHUNK_PART)) return 'part';
  if (h?.has(CHUNK_COUNT)) return 'manifest';
  return 'whole';
}

/**
 * The payload of a stored or consumed message: its data when whole, the reassembled parts for a manifest,
 * undefined for a part. Throws ChunkError when a part is gone (evicted by a limit) or does not match.
 */
export async function readLarge(
  jsm: JetStreamManager,
  stream: string,
  msg: { readonly subject: string; readonly data: Uint8Array; readonly headers?: MsgHdrs | undefined },
): Promise<Uint8Array | undefined> {
  const kind = largeMessageKind(msg.headers);
  if (kind === 'whole') return msg.data;
  if (kind === 'part') return undefined;
  const h = msg.headers!;
  const seqs = h.get(CHUNK_SEQS).split(',').map(Number);
  const size = Number(h.get(CHUNK_SIZE));
  if (seqs.length !== Number(h.get(CHUNK_COUNT)) || seqs.some((s) => !Number.isInteger(s) || s <= 0))
    throw new ChunkError(`${msg.subject}: malformed chunk manifest`);
  // every part holds at least one byte: a size over the limit, or fewer bytes than parts, is refused unfetched
  if (!Number.isInteger(size) || size > MAX_LARGE_BYTES || size < seqs.length)
    throw new ChunkError(`${msg.subject}: chunk manifest declares ${h.get(CHUNK_SIZE)} bytes in ${seqs.length} parts (at most ${MAX_LARGE_BYTES} bytes, at least one a part)`);
  const parts: Uint8Array[] = [];
  let received = 0;
  for (const [index, seq] of seqs.entries()) {
    let part;
    try {
      part = await jsm.streams.getMessage(stream, { seq });
    } catch (err) {
      throw new ChunkError(`${msg.subject}: part ${index} (seq ${seq}) is gone`, { cause: err });
    }
    if (part.subject !== chunkSubject(msg.subject, index)) throw new ChunkError(`${msg.subject}: seq ${seq} is not part ${index}`);
    received += part.data.length;
    // stop at the first byte past the declared size rather than holding parts that cannot match
    if (received > size) throw new ChunkError(`${msg.subject}: parts hold more than the ${size} bytes the manifest declares`);
    parts.push(part.data);
  }
  const data = Buffer.concat(parts);
  if (data.length !== size || createHash('sha256').update(data).digest('hex') !== h.get(CHUNK_SHA256))
    throw new ChunkError(`${msg.subject}: reassembled payload does not match its manifest`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function idOpt(msgID: string | undefined): { msgID?: string } {
  return msgID === undefined ? {} : { msgID };
}
