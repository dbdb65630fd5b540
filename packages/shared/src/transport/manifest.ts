import { sha256 } from '../canonical.js';
import type { AddressSet, RuleSet, RuleSetVersion } from '../ruleset.js';
import type { DeltaNodeMessage } from './node-message.js';
import type { SetRef } from './set-content.js';

/**
 * Event manifests and pointers: one signed statement per event for the nodes whose only change is set
 * contents, instead of one signed DELTA per node (issue 15: a set used on every node changing cost ~860
 * bytes per node, ~860 KiB at 1,000 nodes).
 *
 * - A **manifest** (in the set store, under the set id MANIFEST_SET_ID and the sha256 of its bytes) names
 *   the version, the changed set references `{id, hash}` once, and for each of up to MANIFEST_NODES nodes
 *   the content hash that node reaches. Signed like a set content (`{set, hash}`).
 * - A **pointer** on a node's subject names a manifest by hash and nothing else; it is not signed. The
 *   reader expands it as its current content (the base) with every set whose id the manifest names
 *   replaced by the manifest's reference, and takes it only if the result hashes to the manifest's signed
 *   hash for its node. A pointer therefore carries nothing trusted: a forged one names a manifest whose
 *   entry does not fit the reader's base (refused), or an older version (stale).
 *
 * A writer uses pointers only when at least MANIFEST_MIN_NODES nodes of one publish change set contents
 * and nothing else, and only for nodes whose expansion by the manifest is exactly the compiled content.
 */
export const MANIFEST_SET_ID = 'manifest';
/** Nodes per manifest: each reader fetches one manifest, so its size bounds what a set change costs each node to read. */
export const MANIFEST_NODES = 32;
/** Fewer set-only nodes in one publish than this: plain DELTAs (a manifest's signature is not amortised). */
export const MANIFEST_MIN_NODES = 4;

export type EventManifest = {
  readonly schema: 2;
  readonly kind: 'manifest';
  readonly version: RuleSetVersion;
  /** The changed set references, once. */
  readonly sets: readonly SetRef[];
  /** `[node, contentHash]`: what each node reaches. */
  readonly nodes: readonly (readonly [string, string])[];
};

/** A pointer as read on a node's subject, made whole with its manifest: what expandNodeMessage applies on the reader's content. */
export type PointerNodeMessage = {
  readonly schema: 2;
  readonly kind: 'pointer';
  readonly node: string;
  readonly version: RuleSetVersion;
  /** The manifest's signed hash for this node. */
  readonly contentHash: string;
  /** The manifest's hash (its ref in the set store is `{id: MANIFEST_SET_ID, hash}`). */
  readonly manifest: string;
  readonly sets: readonly SetRef[];
};

/** What a writer publishes: the manifest's bytes (schema first) and their hash. */
export function encodeManifest(manifest: EventManifest): { readonly text: string; readonly hash: string } {
  const text = JSON.stringify({ schema: manifest.schema, kind: manifest.kind, version: manifest.version, sets: manifest.sets, nodes: manifest.nodes });
  return { text, hash: sha256(text) };
}

/** A pointer's bytes on a node subject (schema and kind first: readers tell it apart by its first bytes). */
export const pointerText = (manifestHash: string): string => JSON.stringify({ schema: 2, kind: 'pointer', manifest: manifestHash });

export const manifestRef = (hash: string): SetRef => ({ id: MANIFEST_SET_ID, hash });

/** The pointer message for `node` in a checked manifest; undefined when the manifest has no entry for it. */
export function pointerFor(manifest: EventManifest, hash: string, node: string): PointerNodeMessage | undefined {
  const entry = manifest.nodes.find(([n]) => n === node);
  return entry && { schema: 2, kind: 'pointer', node, version: manifest.version, contentHash: entry[1], manifest: hash, sets: manifest.sets };
}

/**
 * The set references a pointer's expansion gives `base`'s: each of base's sets whose id the manifest
 * names, replaced by the manifest's reference; the others as they are.
 */
export function pointerRefs(baseRefs: readonly SetRef[], sets: readonly SetRef[]): SetRef[] {
  const changed = new Map(sets.map((ref) => [ref.id, ref]));
  return baseRefs.map((ref) => changed.get(ref.id) ?? ref);
}

/**
 * The set references a DELTA changes when it changes nothing else (no pods, rules or tier rules, no set
 * added, removed or moved: each put replaces the content of the set at the same index of `base`);
 * undefined otherwise.
 */
export function setOnlyChange(base: RuleSet, delta: DeltaNodeMessage): readonly SetRef[] | undefined {
  if (delta.pods || delta.rules || delta.tierRules || !delta.sets || delta.sets.del.length > 0 || delta.sets.put.length === 0) return undefined;
  for (const [index, ref] of delta.sets.put) if (base.sets[index]?.id !== ref.id) return undefined;
  return delta.sets.put.map(([, ref]) => ref);
}

/**
 * Whether `next` may differ from `base` in set contents only, judged without diffing: same pods, rules and
 * tier rule counts, and the same set ids in the same order. A cheap filter before `deltaMessage`.
 */
export function maybeSetOnly(base: RuleSet, next: RuleSet): boolean {
  if (base.pods.length !== next.pods.length || base.rules.length !== next.rules.length || (base.tierRules?.length ?? 0) !== (next.tierRules?.length ?? 0)) return false;
  if (base.sets.length !== next.sets.length) return false;
  return base.sets.every((set, i) => set.id === next.sets[i]!.id);
}

/** One node's candidate for a pointer: its head, the compiled next content, and the DELTA between them. */
export type PointerCandidate = { readonly base: RuleSet; readonly next: RuleSet; readonly delta: DeltaNodeMessage };

export type PointerPlan = {
  /** Each manifest with the nodes that get a pointer to it. */
  readonly manifests: readonly { readonly manifest: EventManifest; readonly nodes: readonly string[] }[];
  /** The set contents the manifests name (the store must hold them before any pointer is published). */
  readonly sets: readonly AddressSet[];
};

/**
 * Which nodes of one publish get a pointer, and the manifests they point to. A candidate qualifies when its
 * DELTA changes set contents only, and every set of its base the manifests change has, in its next content,
 * exactly the manifests' content (so expanding the pointer on the base gives the next content, which the
 * reader checks by hash anyway). All qualifying nodes must be of one version. Fewer than `min`: no pointers.
 */
export function planPointers(candidates: readonly PointerCandidate[], opts: { readonly perManifest?: number; readonly min?: number } = {}): PointerPlan {
  const perManifest = Math.max(1, opts.perManifest ?? MANIFEST_NODES), min = opts.min ?? MANIFEST_MIN_NODES;
  const none: PointerPlan = { manifests: [], sets: [] };
  const setOnly = candidates.flatMap((c) => {
    const refs = setOnlyChange(c.base, c.delta);
    return refs && c.base.node === c.next.node ? [{ ...c, refs }] : [];
  });
  if (setOnly.length < min) return none;
  const version = setOnly[0]!.next.version;
  // one content per changed id across the publish; an id two nodes disagree on is left to plain DELTAs
  const union = new Map<string, string | null>();
  for (const { refs } of setOnly) for (const ref of refs) union.set(ref.id, union.has(ref.id) && union.get(ref.id) !== ref.hash ? null : ref.hash);
  const fits = setOnly.filter(({ base, next, refs }) => {
    if (next.version.epoch !== version.epoch || next.version.seq !== version.seq) return false;
    if (refs.some((ref) => union.get(ref.id) === null)) return false;
    const changed = new Set(refs.map((ref) => ref.id));
    // a set this node holds that the publish changes must have changed here too, to the same content
    return base.sets.every((set) => changed.has(set.id) || !union.has(set.id));
  });
  if (fits.length < min) return none;
  const manifests: { manifest: EventManifest; nodes: string[] }[] = [];
  const sets = new Map<string, AddressSet>();
  for (let i = 0; i < fits.length; i += perManifest) {
    const group = fits.slice(i, i + perManifest);
    const refs = new Map<string, SetRef>();
    for (const { next, refs: changed } of group) {
      const ids = new Set(changed.map((r) => r.id));
      for (const set of next.sets) {
        if (!ids.has(set.id)) continue;
        const ref = changed.find((r) => r.id === set.id)!;
        refs.set(set.id, ref);
        sets.set(`${ref.id}.${ref.hash}`, set);
      }
    }
    manifests.push({
      manifest: { schema: 2, kind: 'manifest', version, sets: [...refs.values()], nodes: group.map(({ next }) => [next.node, next.contentHash] as const) },
      nodes: group.map(({ next }) => next.node),
    });
  }
  return { manifests, sets: [...sets.values()] };
}
