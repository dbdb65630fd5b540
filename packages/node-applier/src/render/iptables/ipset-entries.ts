import { cidrContainsCidr, formatCidr, type Cidr, type Family } from '@knp/shared';

/** One hash:net entry: a network, and whether it is a `nomatch` hole in a larger entry. */
export type NetEntry = { readonly cidr: Cidr; readonly nomatch: boolean };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/**
 * The hash:net entries that mean exactly `cidr` minus every `except`. ipset looks an address up from the
 * most specific stored prefix to the least and the first hit decides, so an except stored as `nomatch`
 * inside its CIDR is a hole. What ipset cannot hold as given is reshaped, never approximated:
 * - a /0 (hash:net takes prefixes 1..32/128) becomes its two /1 halves;
 * - an except covering a whole entry (the CIDR itself, a /0 half, or a supernet) removes that entry;
 * - excepts outside the CIDR are irrelevant, excepts inside another except are redundant: both dropped.
 * What remains are pairwise disjoint holes, each strictly inside one matched entry, so the most specific
 * hit for an address in a hole is always its `nomatch` entry. (Why not subtract into plain CIDRs: one
 * /32 except in a /8 costs 24 entries of 24 distinct prefix lengths, and hash:net tries every distinct
 * length on each packet; `nomatch` keeps it at two.)
 */
export function ipsetNetEntries(cidr: Cidr, except: readonly Cidr[]): NetEntry[] {
  const halves = cidr.prefix === 0 ? splitHalves(cidr) : [cidr];
  const inside = except.filter((e) => e.family === cidr.family && (cidrContainsCidr(cidr, e) || cidrContainsCidr(e, cidr)));
  const holes = dedupe(inside).filter((e, _, all) => !all.some((o) => o !== e && cidrContainsCidr(o, e) && !sameCidr(o, e)));
  const matched = halves.filter((m) => !holes.some((e) => cidrContainsCidr(e, m)));
  const nomatch = holes.filter((e) => matched.some((m) => cidrContainsCidr(m, e) && !sameCidr(m, e)));
  return [...matched.map((c) => ({ cidr: c, nomatch: false })), ...nomatch.map((c) => ({ cidr: c, nomatch: true }))];
}

/** The entry as `ipset restore` takes it (`10.0.0.0/8`, `10.1.0.0/16 nomatch`). */
export function printNetEntry(entry: NetEntry): string {
  return `${formatCidr(entry.cidr)}${entry.nomatch ? ' nomatch' : ''}`;
}

function splitHalves(cidr: Cidr): Cidr[] {
  const top = 1n << BigInt(BITS[cidr.family] - 1);
  return [{ family: cidr.family, network: 0n, prefix: 1 }, { family: cidr.family, network: top, prefix: 1 }];
}

const sameCidr = (a: Cidr, b: Cidr): boolean => a.family === b.family && a.network === b.network && a.prefix === b.prefix;

function dedupe(cidrs: readonly Cidr[]): Cidr[] {
  const seen = new Set<string>();
  return cidrs.filter((c) => {
    const key = formatCidr(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
