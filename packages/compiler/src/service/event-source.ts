import { checkEventSignature, names, type Logger, type Refusal, type Rejection, type Trust } from '@knp/shared';
import { largeMessageKind, readLarge } from '@knp/shared/nats';
import { RECEIVED_AT_HEADER, parseReceivedAt } from '@knp/shared/ops';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from 'nats';
import type { FoldEvent } from '../fold-event.js';
import { decodeEvent } from '../input/event.js';

/**
 * One consumed message: its stream sequence, the decoded event (undefined when skipped or unreadable), the
 * rejections decoding it made (why it was skipped, or the fields of a kept object that were rejected), and
 * how many follow it, counting those the server still holds and those already buffered here (the server's
 * count alone reads 0 for every message delivered as it was published, however many wait in the client's buffer).
 */
export type Consumed = {
  readonly seq: number;
  readonly subject: string;
  /** Why the edge refused the message (its signature); then `event` is undefined and nothing was decoded. */
  readonly refusal?: Refusal;
  readonly event: FoldEvent | undefined;
  readonly rejections: readonly Rejection[];
  readonly pending: number;
  /** When the stream stored the message (ms since the epoch). */
  readonly timeMs: number;
  /** When the watcher received the change (its RECEIVED_AT_HEADER; telemetry, unsigned), if it said. */
  readonly receivedAtMs?: number;
  /** The message could not be read or decoded at all (logged; it counts as a rejected event). */
  readonly unreadable?: true;
};

export type EventSource = AsyncIterable<Consumed> & { close(): Promise<void> };

/**
 * Reads the events stream in order from `afterSeq + 1` and keeps following: an ordered consumer with one
 * string filter (nats-server 2.9 accepts no more: an array of filters, even of one, hangs the consumer). Parts of large events
 * are skipped and their manifests reassembled; each event carries its stream sequence as `seq`. With signed
 * `trust`, a message is decoded only if its signature by a trusted watcher key verifies over its whole
 * payload and origin (checkEventSignature); the decoded event then carries the signed origin.
 */
export async function openEventSource(js: JetStreamClient, jsm: JetStreamManager, prefix: string, afterSeq: number, log: Logger, trust: Trust): Promise<EventSource> {
  const n = names(prefix);
  const consumer = await js.consumers.get(n.eventsStream, {
    filterSubjects: n.eventsSubjects,
    // trap: deliver_policy All hangs on 2.9; "from the start" is the default
    ...(afterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : {}),
  });
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 2048 });
  // getPending() counts the message being handled too, and callbacks the client queues among the messages (its
  // next pull); the server's count can be a few too many on 2.9. An estimate: the service does not rely on it alone.
  const pendingAfter = (serverPending: number): number => serverPending + Math.max(0, messages.getPending() - 1);
  async function* read(): AsyncGenerator<Consumed> {
    for await (const m of messages) {
      if (largeMessageKind(m.headers) === 'part') {
        yield { seq: m.seq, subject: m.subject, event: undefined, rejections: [], pending: pendingAfter(m.info.pending), timeMs: m.info.timestampNanos / 1e6 };
        continue;
      }
      let decoded: ReturnType<typeof decodeEvent> = { event: undefined, rejections: [] };
      let refusal: Refusal | undefined;
      let unreadable = false;
      try {
        const data = (await readLarge(jsm, n.eventsStream, { subject: m.subject, data: m.data, headers: m.headers }))!;
        const signed = checkEventSignature(trust, m.headers, data);
        if ('refusal' in signed) refusal = signed.refusal;
        else {
          decoded = decodeEvent(JSON.parse(Buffer.from(data).toString('utf8')), m.seq);
          if (decoded.event && signed.origin) decoded = { ...decoded, event: { ...decoded.event, origin: signed.origin } };
        }
      } catch (err) {
        // one unreadable event must not stop the compiler: it is skipped, logged with its sequence
        log.error({ err, seq: m.seq, subject: m.subject }, 'event unreadable, skipped');
        decoded = { event: undefined, rejections: [{ object: 'event', field: '', reason: 'unreadable (not JSON, or a part of it is missing); skipped' }] };
        unreadable = true;
      }
      const receivedAtMs = parseReceivedAt(m.headers?.get(RECEIVED_AT_HEADER) || undefined);
      // bad input is data: a skipped event or a rejected field, with the sequence it came at
      for (const r of decoded.rejections)
        log.warn({ seq: m.seq, object: r.object, field: r.field, reason: r.reason, skipped: decoded.event === undefined }, 'event input rejected');
      yield {
        seq: m.seq, subject: m.subject, ...(refusal ? { refusal } : {}), event: decoded.event, rejections: decoded.rejections, pending: pendingAfter(m.info.pending),
        timeMs: m.info.timestampNanos / 1e6, ...(receivedAtMs === undefined ? {} : { receivedAtMs }), ...(unreadable ? { unreadable: true as const } : {}),
      };
    }
  }
  const iterable = read();
  return { [Symbol.asyncIterator]: () => iterable, close: async () => void (await messages.close()) };
}
