import { InputError } from '../schema.js';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Ed25519 keys (node:crypto): the watcher signs events, compilers sign rule sets and snapshots. Keys are
 * PEM files (private PKCS#8, public SPKI); a key is named by its id, the first 16 hex digits of the sha256
 * of its raw 32-byte public key, which travels in a message header next to the signature.
 */
export type SigningKey = { readonly keyId: string; readonly publicKey: KeyObject; sign(data: Uint8Array): string };
/** Public keys by key id: whose signatures a reader accepts. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

export class KeyError extends InputError {
  override name = 'KeyError';
}

/** The id of a public key: hex sha256 of its raw bytes, 16 digits. */
export function keyIdOf(publicKey: KeyObject): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** A new key pair as PEM text, with its id (what `knp keygen` writes). */
export function generateSigningKeyPair(): { readonly keyId: string; readonly privatePem: string; readonly publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** A signer over a private key held in memory; `sign` returns the base64 signature. */
export function signingKeyFrom(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyError(`key type ${privateKey.asymmetricKeyType ?? 'unknown'} is not ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), publicKey, sign: (data) => sign(null, data, privateKey).toString('base64') };
}

/** Reads a private key file (PEM, PKCS#8 Ed25519). Throws KeyError naming the file, never printing the key. */
export function loadSigningKey(path: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (err) {
    throw new KeyError(`${path}: not a readable PEM private key (${(err as NodeJS.ErrnoException).code ?? 'unparseable'})`, { cause: err });
  }
  return signingKeyFrom(key);
}

/**
 * Reads public keys: each path a PEM file (SPKI Ed25519; a private key file is accepted and its public half
 * used), or a folder whose `*.pub` files are read. Throws KeyError naming the first bad file.
 */
export function loadTrustedKeys(paths: readonly string[]): TrustedKeys {
  const keys = new Map<string, KeyObject>();
  for (const path of paths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.pub')).sort().map((f) => join(path, f)) : [path];
    } catch (err) {
      throw new KeyError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    for (const file of files) {
      let key: KeyObject;
      try {
        key = createPublicKey(readFileSync(file));
      } catch (err) {
        throw new KeyError(`${file}: not a readable PEM public key`, { cause: err });
      }
      if (key.asymmetricKeyType !== 'ed25519') throw new KeyError(`${file}: key type ${key.asymmetricKeyType ?? 'unknown'} is not ed25519`);
      keys.set(keyIdOf(key), key);
    }
  }
  return keys;
}

/** Whether `signature` (base64) is a valid signature of `data` by the trusted key `keyId`. */
export function verifySignature(trusted: TrustedKeys, keyId: string, data: Uint8Array, signature: string): 'valid' | 'untrusted-key' | 'bad-signature' {
  const key = trusted.get(keyId);
  if (!key) return 'untrusted-key';
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== 64) return 'bad-signature';
  return verify(null, data, key, bytes) ? 'valid' : 'bad-signature';
}
