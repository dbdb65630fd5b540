import type { ClusterEvent, Logger } from '@knp/shared';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs } from 'nats';
import { TooLargeError, publishLarge } from '@knp/shared/nats';
import { RECEIVED_AT_HEADER, receivedAtText } from '@knp/shared/ops';
import type { EventSigner } from './event-signer.js';
import { eventSubjectOf, messageIdOf } from './subjects.js';

export type PublisherOptions = {
  readonly prefix: string;
  readonly maxPayload: number;
  readonly ackTimeoutMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Signs every event (KNP_SIGNING_KEY); without it events go out unsigned. */
  readonly signer?: EventSigner;
  /** The largest event published (MAX_LARGE_BYTES unless lower); a larger one is dropped, logged and counted. */
  readonly maxEventBytes?: number;
};

export type PublishedInfo = { readonly seq: number; readonly duplicate: boolean };

/** What the ops endpoints learn from the publisher: events queued, and how each publish attempt ended. */
export type PublisherObserver = {
  queued?(pending: number): void;
  attempted?(event: ClusterEvent, outcome: 'published' | 'duplicate' | 'failed', pending: number): void;
};

/** An event waiting for its publish, with the moment the watcher received the change behind it. */
type Queued = { readonly event: ClusterEvent; readonly receivedAtMs: number };

/**
 * Publishes events one at a time in the order they were pushed, waiting for each ack; a failed publish is
 * retried with the same message id until it lands (a timed-out publish may have been stored: the id makes
 * the retry a no-op) or the publisher is stopped. `idle()` resolves once everything pushed is acknowledged.
 */
export class Publisher {
  private readonly queue: Queued[] = [];
  private head = 0;
  private running = false;
  private stopped = false;
  private generation = 0;
  private idleWaiters: Array<() => void> = [];
  private wake: (() => void) | undefined;
  published = 0;
  duplicates = 0;
  /** Events over the size bound, dropped (see `maxEventBytes`). */
  dropped = 0;
  lastSeq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
    private readonly onIdle: () => void = () => {},
    private readonly observer: PublisherObserver = {},
  ) {}

  /** Queues events; `receivedAtMs` (when the change came from the API) travels in a header, see RECEIVED_AT_HEADER. */
  push(events: readonly ClusterEvent[], receivedAtMs = Date.now()): void {
    if (this.stopped || events.length === 0) return;
    for (const event of events) this.queue.push({ event, receivedAtMs });
    this.observer.queued?.(this.pending);
    if (!this.running) void this.run();
  }

  /** Events pushed and not yet acknowledged. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  get isIdle(): boolean {
    return !this.running && this.head >= this.queue.length;
  }

  idle(): Promise<void> {
    return this.isIdle ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops everything queued (the stream was recreated; a relist will push it all again). */
  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.generation += 1;
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (!this.stopped && this.head < this.queue.length) {
      const queued = this.queue[this.head]!;
      const generation = this.generation;
      await this.publishWithRetry(queued, generation);
      if (generation !== this.generation) continue; // cleared while publishing: the queue restarted
      this.head += 1;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head); // compact without shifting on every event
        this.head = 0;
      }
    }
    this.running = false;
    if (this.head >= this.queue.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      this.onIdle();
    }
  }

  private async publishWithRetry({ event, receivedAtMs }: Queued, generation: number): Promise<void> {
    const subject = eventSubjectOf(this.opts.prefix, event);
    const data = Buffer.from(JSON.stringify(event), 'utf8');
    const signer = this.opts.signer;
    // signed, the id names the instance too: a restarted watcher's events are not dropped as duplicates of
    // its predecessor's (which may be refused, e.g. after a key change); a retry keeps the same id and origin
    const origin = signer?.next();
    const msgID = signer && origin ? `${messageIdOf(event)}@${signer.key.keyId}.${origin.start}` : messageIdOf(event);
    const signed = signer && origin ? [...signer.headers(origin, data)] : [];
    for (let attempt = 0; !this.stopped && generation === this.generation; attempt += 1) {
      try {
        const ack = await publishLarge(this.js, subject, data, {
          maxPayload: this.opts.maxPayload, msgID, timeoutMs: this.opts.ackTimeoutMs, headers: headersOf(signed, receivedAtMs),
          ...(this.opts.maxEventBytes === undefined ? {} : { maxBytes: this.opts.maxEventBytes }),
        });
        if (ack.duplicate) this.duplicates += 1;
        else this.published += 1;
        // this event is still counted in `pending` until the loop moves past it
        this.observer.attempted?.(event, ack.duplicate ? 'duplicate' : 'published', this.pending - 1);
        this.lastSeq = Math.max(this.lastSeq, ack.seq);
        this.log.debug({ subject, msgID, seq: ack.seq, duplicate: ack.duplicate }, 'event published');
        return;
      } catch (err) {
        if (err instanceof TooLargeError) {
          // no retry can store it, and holding it would stop every event behind it: dropped, counted as a failure
          this.dropped += 1;
          this.observer.attempted?.(event, 'failed', this.pending - 1);
          this.log.error({ err, subject, msgID, bytes: data.length }, 'event over the size bound of a message, dropped');
          return;
        }
        this.observer.attempted?.(event, 'failed', this.pending);
        const delayMs = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(attempt, 10));
        this.log.warn({ err, subject, msgID, attempt, delayMs }, 'event publish failed, retrying with the same id');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
        this.wake = undefined;
      }
    }
  }
}

/**
 * A publish attempt's headers, fresh each time (the client writes the msg id into the object it is given):
 * the signature's, and the receive time (telemetry, outside the payload and the signature).
 */
function headersOf(signed: ReadonlyArray<readonly [string, string]>, receivedAtMs: number): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of signed) h.set(k, v);
  h.set(RECEIVED_AT_HEADER, receivedAtText(receivedAtMs));
  return h;
}
