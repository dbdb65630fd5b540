import { KEY_ID_HEADER, SIGNATURE_HEADER, eventSignatureHeaders, parseOrigin, ORIGIN_HEADER, signedEventBytes, type Origin, type SigningKey } from '@knp/shared';

/**
 * Signs the events of one watcher instance: each gets the origin (this instance's start time, a counter
 * incremented per event) and the signature over origin and payload (see README "Security"). The start time
 * is the later of the clock and one past the newest start this key signed in the stream, so a restart is
 * always a newer instance, even if the clock went back.
 */
export class EventSigner {
  private counter = 0;
  private newestStartSeen = 0;
  private startMs: number | undefined;

  constructor(readonly key: SigningKey, private readonly clockMs: () => number = Date.now) {}

  /** This instance's start time; fixed at the first event signed. */
  get start(): number {
    this.startMs ??= Math.max(this.clockMs(), this.newestStartSeen + 1);
    return this.startMs;
  }

  /**
   * Whether a stored event is one this key signed (Ed25519 is deterministic: signing again gives the same
   * signature). Unsigned history, or history signed by another key, is not: the watcher publishes those
   * objects again, signed, when signing is turned on or the key changes. Remembers the newest start seen.
   */
  signedByUs(headers: { get(name: string): string } | undefined, data: Uint8Array): boolean {
    const origin = parseOrigin(headers?.get(ORIGIN_HEADER) || undefined);
    if (origin === undefined || headers?.get(KEY_ID_HEADER) !== this.key.keyId) return false;
    if (headers.get(SIGNATURE_HEADER) !== this.key.sign(signedEventBytes(origin, data))) return false;
    this.newestStartSeen = Math.max(this.newestStartSeen, origin.start);
    return true;
  }

  /** The next origin: call once per event, in publish order (a retry reuses the headers it got). */
  next(): Origin {
    this.counter += 1;
    return { start: this.start, counter: this.counter };
  }

  headers(origin: Origin, payload: Uint8Array): ReadonlyMap<string, string> {
    return eventSignatureHeaders(this.key, origin, payload);
  }
}
