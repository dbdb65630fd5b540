import { manifestRef } from './manifest.js';
import type { NodeMessage } from './node-message.js';
import type { SetRef } from './set-content.js';

/**
 * Sweeping the set store: contents no retained node message names any more are removed, while every
 * reader (an applier expanding a message just delivered, a restarted applier or `knp status` rebuilding
 * from the subject) still finds every content a retained message names, and the base of every member delta
 * it follows. Kept: each content a retained message names, each content younger than the grace (a writer
 * stores contents before the message naming them, and trusts what it stored for STORE_TRUST_MS only, so a
 * content it may still name without storing it again is younger than the grace), and, transitively, the
 * base of each kept member delta. Everything else is purged.
 */
export const SETS_SWEEP_GRACE_MS = 10 * 60_000;
/**
 * How long a writer names a content it stored (or uses it as a member-delta base) without storing it again:
 * half the grace, so a content a writer may still name is never old enough to be swept, with room for the
 * writer's stored time running behind the server's and a slow publish.
 */
export const STORE_TRUST_MS = SETS_SWEEP_GRACE_MS / 2;

/** One content in the store: how long ago it was stored (server time), and for a member delta the hash of its base. */
export type StoredSetContent = { readonly ref: SetRef; readonly ageMs: number; readonly base?: string | undefined };

export type SetSweep = { readonly keep: readonly SetRef[]; readonly purge: readonly SetRef[] };

/**
 * The set contents a node message names: a FULL's sets, a DELTA's put sets (its unchanged ones are named by
 * the messages before it), a pointer's manifest and the sets it changes.
 */
export function namedSetRefs(m: NodeMessage): readonly SetRef[] {
  if (m.kind === 'pointer') return [...m.sets, manifestRef(m.manifest)];
  return m.kind === 'full' ? m.sets : (m.sets?.put ?? []).map(([, ref]) => ref);
}

// a hash has no '.', so `<id>.<hash>` names one content even when the id has dots
const refKey = (ref: SetRef): string => `${ref.id}.${ref.hash}`;

/** Which stored contents to keep and which to purge (see above); `named` are the refs of every retained node message. */
export function decideSetSweep(named: Iterable<SetRef>, stored: readonly StoredSetContent[], graceMs: number): SetSweep {
  const byKey = new Map(stored.map((c) => [refKey(c.ref), c]));
  const kept = new Set<string>();
  const keep = (ref: SetRef): void => {
    // iterative: a member-delta chain can be long, and a cycle (a forged base) must end
    for (let at: SetRef | undefined = ref; at !== undefined && !kept.has(refKey(at)); ) {
      const key = refKey(at);
      kept.add(key);
      const base = byKey.get(key)?.base;
      at = base === undefined ? undefined : { id: at.id, hash: base };
    }
  };
  for (const ref of named) keep(ref);
  for (const c of stored) if (c.ageMs < graceMs) keep(c.ref);
  const keepList: SetRef[] = [], purge: SetRef[] = [];
  for (const c of stored) (kept.has(refKey(c.ref)) ? keepList : purge).push(c.ref);
  return { keep: keepList, purge };
}
