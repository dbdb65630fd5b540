import { canonicalJson, sha256 } from '@knp/shared';

/**
 * A digest of a table as `nft -j list table` reports it. Both sides of a drift check are kernel listings
 * (the one taken right after our own load, and the one now), so nft's normalisation (ranges printed as
 * prefixes, merged intervals, `priority filter + 1` as 1) is the same on both sides and a clean table
 * never looks drifted. Handles are dropped (they change when the table is recreated) and set elements
 * are sorted (hash sets list in table order).
 */
export function fingerprintNftListing(listing: unknown): string {
  const items = (listing as { nftables?: unknown[] } | undefined)?.nftables ?? [];
  const kept = items.filter((item) => !(typeof item === 'object' && item !== null && 'metainfo' in item)).map((item) => strip(item));
  return sha256(canonicalJson(kept));
}

function strip(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const out = value.map((v) => strip(v));
    return key === 'elem' ? out.map((v) => canonicalJson(v)).sort() : out;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'handle') out[k] = strip(v, k);
  return out;
}
