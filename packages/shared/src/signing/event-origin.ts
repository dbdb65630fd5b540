import { KEY_ID_HEADER, SIGNATURE_HEADER, checkSignature, signatureHeaders, type Refusal, type Trust } from './trust.js';
import type { SigningKey } from './keys.js';

/**
 * Where a signed event comes from: the watcher instance's start time (ms since the epoch) and a counter it
 * increments for every event it publishes. Both travel in the `Knp-Origin` header as `<start>.<counter>` and
 * are covered by the signature, so a captured event cannot be replayed later: a reader folds from each
 * watcher key only events newer than the last one it folded, from an instance no older than the newest seen.
 */
export const ORIGIN_HEADER = 'Knp-Origin';

export type Origin = { readonly start: number; readonly counter: number };
/** An origin whose signature verified, with the key that signed it. */
export type SignedOrigin = Origin & { readonly keyId: string };

export const formatOrigin = (o: Origin): string => `${o.start}.${o.counter}`;

/** `<start>.<counter>`, both decimal integers of at most 15 digits; anything else is no origin. */
export function parseOrigin(text: string | undefined): Origin | undefined {
  const m = text === undefined ? null : /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  return m ? { start: Number(m[1]), counter: Number(m[2]) } : undefined;
}

/** The bytes a watcher signs: a domain tag, the origin, then the event payload exactly as published. */
export function signedEventBytes(origin: Origin, payload: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`knp-event ${formatOrigin(origin)}\n`, 'utf8'), payload]);
}

/** The headers of a signed event: key id, signature and origin. */
export function eventSignatureHeaders(key: SigningKey, origin: Origin, payload: Uint8Array): ReadonlyMap<string, string> {
  return new Map([...signatureHeaders(key, signedEventBytes(origin, payload)), [ORIGIN_HEADER, formatOrigin(origin)]]);
}

/** Reads one header of a message (nats MsgHdrs or absent). */
export type HeaderReader = { get(name: string): string } | undefined;
const header = (h: HeaderReader, name: string): string | undefined => {
  const v = h?.get(name);
  return v === undefined || v === '' ? undefined : v;
};

/**
 * Checks an event's signature and origin against the trusted watcher keys: the signed origin, or a Refusal.
 * Unsigned trust accepts every event and returns no origin (nothing to guard).
 */
export function checkEventSignature(trust: Trust, headers: HeaderReader, payload: Uint8Array): { readonly origin: SignedOrigin | undefined } | { readonly refusal: Refusal } {
  if (trust.mode === 'unsigned') return { origin: undefined };
  const found = { keyId: header(headers, KEY_ID_HEADER), signature: header(headers, SIGNATURE_HEADER) };
  const originText = header(headers, ORIGIN_HEADER);
  const origin = parseOrigin(originText);
  if (found.signature !== undefined && origin === undefined)
    return { refusal: { reason: 'malformed', detail: `origin ${JSON.stringify((originText ?? '').slice(0, 40))} is not <start>.<counter>` } };
  const refusal = checkSignature(trust, found, origin ? signedEventBytes(origin, payload) : payload);
  if (refusal) return { refusal };
  return { origin: { keyId: found.keyId!, ...origin! } };
}
