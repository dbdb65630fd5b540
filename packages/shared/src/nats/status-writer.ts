import { JSONCodec, type KV } from 'nats';
import type { Logger } from '../logger.js';

/**
 * Writes one service's record to its key in the status bucket: at most one put in flight, and requests made
 * during a put coalesce into one more put of the then-current record. A failing put is logged once until
 * puts work again (a service keeps working without its status). The bucket may arrive later (`bind`), as
 * for an applier that starts while NATS is down.
 */
export class StatusWriter<T> {
  private kv: KV | undefined;
  private writing: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private closed = false;

  constructor(private readonly key: string, private readonly record: () => T, private readonly log: Logger, kv?: KV) {
    this.kv = kv;
  }

  /** The bucket to write to from now on. */
  bind(kv: KV): void {
    this.kv = kv;
  }

  /** Writes the current record (coalesced with a write already in flight); resolves when it is stored or failed. */
  write(): Promise<void> {
    if (!this.kv || this.closed) return Promise.resolve();
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    // a request arriving after the loop's last check but before it settled must not be lost: go again
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
      if (this.again && !this.closed) void this.write();
    });
    return this.writing;
  }

  /** Waits for the write in flight, writes the final record, and refuses later writes. */
  async close(): Promise<void> {
    await this.writing;
    await this.write();
    this.closed = true;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.kv!.put(this.key, JSONCodec<T>().encode(this.record()));
        if (this.failing) this.log.info({ key: this.key }, 'status write works again');
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.log.warn({ err, key: this.key }, 'status write failed (logged once until it works again)');
        this.failing = true;
      }
    } while (this.again && !this.closed);
  }
}
