import { addressSetHash, type AddressSet, type Protocol } from '../ruleset.js';
import { applyList, diffList, type ListDelta } from './list-delta.js';

/**
 * What the content-addressed set store holds under `<prefix>.sets.<id>.<hash>`: one address set's content
 * with that hash, either whole or as the member change from another content of the same set (`base`), so
 * a pod joining a set of 50,000 addresses travels as one address, once for the whole cluster.
 * A reader verifies that what it rebuilt hashes to `hash` (addressSetHash) before using it.
 */
export type SetContent =
  | { readonly kind: 'set'; readonly set: AddressSet }
  | {
      readonly kind: 'set-delta';
      readonly id: string;
      readonly base: string;
      readonly hash: string;
      /** The selector text, when it changed (it is derived from the set's id, so it almost never does). */
      readonly selector?: string;
      readonly members: ListDelta<string> | ListDelta<PortEntry>;
    };

type PortEntry = { readonly ip: string; readonly protocol: Protocol; readonly port: number };

/** An address set named by identity and content: what a node message carries instead of the members. */
export type SetRef = { readonly id: string; readonly hash: string };

export const setRefOf = (set: AddressSet): SetRef => ({ id: set.id, hash: addressSetHash(set) });

const entryKey = (e: PortEntry): string => `${e.ip}|${e.protocol}|${e.port}`;
const ipKey = (ip: string): string => ip;

/**
 * The store message for `next`: a member delta on `prev` (another content of the same set the store
 * holds) when that is smaller than half the whole set, else the whole set.
 */
export function setContentOf(next: AddressSet, prev: AddressSet | undefined): SetContent {
  const whole: SetContent = { kind: 'set', set: next };
  if (prev === undefined || prev.id !== next.id || prev.kind !== next.kind) return whole;
  const hash = addressSetHash(next), base = addressSetHash(prev);
  if (hash === base) return whole;
  let members: ListDelta<string> | ListDelta<PortEntry>;
  let count: number;
  if ((next.kind === 'pods' || next.kind === 'nodes') && (prev.kind === 'pods' || prev.kind === 'nodes')) {
    members = diffList(prev.ips, next.ips, ipKey, (a, b) => a === b);
    count = next.ips.length;
  } else if (next.kind === 'pod-ports' && prev.kind === 'pod-ports') {
    members = diffList(prev.entries, next.entries, entryKey, (a, b) => entryKey(a) === entryKey(b));
    count = next.entries.length;
  } else return whole;
  if (members.del.length + members.put.length > count / 2) return whole;
  const selector = next.selector !== prev.selector ? { selector: next.selector } : {};
  return { kind: 'set-delta', id: next.id, base, hash, ...selector, members };
}

/** The (id, hash) a store message provides. */
export function setContentRef(content: SetContent): SetRef {
  return content.kind === 'set' ? setRefOf(content.set) : { id: content.id, hash: content.hash };
}

export type SetResolution = { readonly kind: 'ok'; readonly set: AddressSet } | { readonly kind: 'refuse'; readonly detail: string };

/**
 * The address set a store message stands for, `base` being the content its delta names (when it is one).
 * Refused when the base is not the one named or the result does not hash to what it claims.
 */
export function resolveSetContent(content: SetContent, base: AddressSet | undefined): SetResolution {
  if (content.kind === 'set') return { kind: 'ok', set: content.set };
  if (base === undefined || base.id !== content.id || addressSetHash(base) !== content.base)
    return { kind: 'refuse', detail: `set ${content.id}: delta on ${content.base.slice(0, 12)}, which is not the base given` };
  let set: AddressSet | undefined;
  if (base.kind === 'pods' || base.kind === 'nodes') {
    const ips = applyList(base.ips, content.members as ListDelta<string>, ipKey);
    set = ips && { ...base, ips, ...(content.selector !== undefined ? { selector: content.selector } : {}) };
  } else if (base.kind === 'pod-ports') {
    const entries = applyList(base.entries, content.members as ListDelta<PortEntry>, entryKey);
    set = entries && { ...base, entries, ...(content.selector !== undefined ? { selector: content.selector } : {}) };
  }
  if (set === undefined) return { kind: 'refuse', detail: `set ${content.id}: the member delta does not fit its base` };
  const actual = addressSetHash(set);
  if (actual !== content.hash) return { kind: 'refuse', detail: `set ${content.id}: content hashes to ${actual.slice(0, 12)}, message says ${content.hash.slice(0, 12)}` };
  return { kind: 'ok', set };
}
