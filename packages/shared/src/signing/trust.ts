import { verifySignature, type SigningKey, type TrustedKeys } from './keys.js';

/** Message headers that carry a signature: the signer's key id and the base64 Ed25519 signature. */
export const KEY_ID_HEADER = 'Knp-Key-Id';
export const SIGNATURE_HEADER = 'Knp-Signature';

/**
 * What a reader accepts. `signed`: only messages signed by one of `keys`. `unsigned`: no trusted keys are
 * configured, so nothing can be checked and everything is accepted (services warn at start and in status).
 */
export type Trust = { readonly mode: 'signed'; readonly keys: TrustedKeys } | { readonly mode: 'unsigned' };

/** Why a message was refused. Refused messages are acked, counted by reason and reported, never applied or folded. */
export type RefusalReason =
  | 'unsigned'
  | 'untrusted-key'
  | 'bad-signature'
  | 'hash-mismatch'
  | 'wrong-node'
  | 'foreign-epoch'
  | 'future-seq'
  | 'replayed'
  | 'malformed';

export type Refusal = { readonly reason: RefusalReason; readonly detail: string };

/** A signature as found on a message (either part may be missing). */
export type Signature = { readonly keyId: string | undefined; readonly signature: string | undefined };

/** The headers to put on a message whose signed bytes are `data`. */
export function signatureHeaders(key: SigningKey, data: Uint8Array): ReadonlyMap<string, string> {
  return new Map([[KEY_ID_HEADER, key.keyId], [SIGNATURE_HEADER, key.sign(data)]]);
}

/** Checks the signature over `data` against `trust`; undefined when the message may be used. */
export function checkSignature(trust: Trust, found: Signature, data: Uint8Array): Refusal | undefined {
  if (trust.mode === 'unsigned') return undefined;
  if (found.keyId === undefined || found.signature === undefined) return { reason: 'unsigned', detail: 'no signature, and signing is required' };
  if (!/^[0-9a-f]{16}$/.test(found.keyId)) return { reason: 'untrusted-key', detail: 'malformed key id' };
  switch (verifySignature(trust.keys, found.keyId, data, found.signature)) {
    case 'valid':
      return undefined;
    case 'untrusted-key':
      return { reason: 'untrusted-key', detail: `key ${found.keyId} is not trusted` };
    case 'bad-signature':
      return { reason: 'bad-signature', detail: `signature by key ${found.keyId} does not verify` };
  }
}
