import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal values always print (and hash) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // no prototype: a key named __proto__ (from the API) stays a key and is hashed like any other
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

/** Hex sha256 of a string. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A short stable id for a value: the first `length` hex digits of the sha256 of its canonical JSON. */
export function shortHash(value: unknown, length = 16): string {
  return sha256(typeof value === 'string' ? value : canonicalJson(value)).slice(0, length);
}
