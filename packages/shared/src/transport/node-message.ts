import { addressSetHash, contentHash, type AddressSet, type LocalPod, type Rule, type RuleSet, type RuleSetVersion, type TierRule } from '../ruleset.js';
import { RULESET_SCHEMA } from '../schema.js';
import { applyList, diffList, isEmptyDelta, type ListDelta } from './list-delta.js';
import { pointerRefs, type PointerNodeMessage } from './manifest.js';
import { setRefOf, type SetRef } from './set-content.js';

/**
 * What travels on a node's rules subject (schema 2; schema 1 is the whole RuleSet of before, still read).
 * A FULL carries the node's pods, rules and tier rules, and its sets by reference; a DELTA carries what
 * changed since exactly one earlier content of the same node (`base.contentHash`). Either way the reader
 * expands it to the RuleSet compileNode produced and checks that it hashes to `contentHash`.
 */
export const NODE_MESSAGE_SCHEMA = 2;

export type FullNodeMessage = {
  readonly schema: typeof NODE_MESSAGE_SCHEMA;
  readonly kind: 'full';
  readonly node: string;
  readonly version: RuleSetVersion;
  readonly contentHash: string;
  readonly pods: readonly LocalPod[];
  readonly rules: readonly Rule[];
  readonly tierRules?: readonly TierRule[];
  readonly sets: readonly SetRef[];
};

export type DeltaNodeMessage = {
  readonly schema: typeof NODE_MESSAGE_SCHEMA;
  readonly kind: 'delta';
  readonly node: string;
  readonly version: RuleSetVersion;
  readonly base: { readonly version: RuleSetVersion; readonly contentHash: string };
  readonly contentHash: string;
  readonly pods?: ListDelta<LocalPod>;
  readonly rules?: ListDelta<Rule>;
  readonly tierRules?: ListDelta<TierRule>;
  readonly sets?: ListDelta<SetRef>;
};

/** FULL and DELTA travel signed on the subject; a pointer is read there and made whole with its signed manifest (manifest.ts). */
export type NodeMessage = FullNodeMessage | DeltaNodeMessage | PointerNodeMessage;

const byUid = (p: LocalPod): string => p.uid;
const byId = (x: { readonly id: string }): string => x.id;
const sameRef = (a: SetRef, b: SetRef): boolean => a.hash === b.hash;

/** The FULL message of a rule set, and the set contents it names (the store must hold them). */
export function fullMessage(ruleSet: RuleSet): { readonly message: FullNodeMessage; readonly sets: readonly AddressSet[] } {
  const tiers = ruleSet.tierRules && ruleSet.tierRules.length > 0 ? { tierRules: ruleSet.tierRules } : {};
  const message: FullNodeMessage = {
    schema: NODE_MESSAGE_SCHEMA, kind: 'full', node: ruleSet.node, version: ruleSet.version, contentHash: ruleSet.contentHash,
    pods: ruleSet.pods, rules: ruleSet.rules, ...tiers, sets: ruleSet.sets.map(setRefOf),
  };
  return { message, sets: ruleSet.sets };
}

/**
 * The DELTA from `base` to `next` (same node), and the sets `next` names that `base` did not hold with that
 * content (the store must hold them before the message is published).
 */
export function deltaMessage(base: RuleSet, next: RuleSet): { readonly message: DeltaNodeMessage; readonly sets: readonly AddressSet[] } {
  const baseRefs = new Map(base.sets.map((s) => [s.id, addressSetHash(s)]));
  const sets = next.sets.filter((s) => baseRefs.get(s.id) !== addressSetHash(s));
  const parts = {
    pods: diffList(base.pods, next.pods, byUid),
    rules: diffList(base.rules, next.rules, byId),
    tierRules: diffList(base.tierRules ?? [], next.tierRules ?? [], byId),
    sets: diffList(base.sets.map(setRefOf), next.sets.map(setRefOf), byId, sameRef),
  };
  const present = Object.fromEntries(Object.entries(parts).filter(([, d]) => !isEmptyDelta(d)));
  const message: DeltaNodeMessage = {
    schema: NODE_MESSAGE_SCHEMA, kind: 'delta', node: next.node, version: next.version,
    base: { version: base.version, contentHash: base.contentHash }, contentHash: next.contentHash, ...present,
  };
  return { message, sets };
}

/** Where the reader finds set contents by (id, hash); undefined when it does not hold that content (yet). */
export type SetLookup = (ref: SetRef) => AddressSet | undefined;

export type Expansion =
  | { readonly kind: 'ok'; readonly ruleSet: RuleSet }
  /** Set contents the message names and the reader does not hold: fetch them and expand again. */
  | { readonly kind: 'missing'; readonly refs: readonly SetRef[] }
  | { readonly kind: 'refuse'; readonly reason: 'wrong-base' | 'hash-mismatch' | 'malformed'; readonly detail: string };

/**
 * The RuleSet a node message stands for. A DELTA applies only on exactly its base (`base` is the reader's
 * current content: the same contentHash, else `wrong-base`), a pointer on the reader's content (a result
 * other than its manifest's hash for the node is `wrong-base`); the result must hash to `contentHash`, so a
 * version is never expanded with members of another. Pure: the reader's current rules stay untouched.
 */
export function expandNodeMessage(message: NodeMessage, base: RuleSet | undefined, lookup: SetLookup): Expansion {
  let pods: readonly LocalPod[], rules: readonly Rule[], tierRules: readonly TierRule[], refs: readonly SetRef[];
  if (message.kind === 'full') {
    ({ pods, rules } = message);
    tierRules = message.tierRules ?? [];
    refs = message.sets;
  } else if (message.kind === 'pointer') {
    // no base named: the manifest's signed hash for this node decides whether it fits the content held
    if (base === undefined || base.node !== message.node) return { kind: 'refuse', reason: 'wrong-base', detail: 'a pointer, and the reader holds nothing of this node' };
    ({ pods, rules } = base);
    tierRules = base.tierRules ?? [];
    refs = pointerRefs(base.sets.map(setRefOf), message.sets);
  } else {
    if (base === undefined || base.contentHash !== message.base.contentHash || base.node !== message.node)
      return { kind: 'refuse', reason: 'wrong-base', detail: `delta on ${message.base.contentHash.slice(0, 12)}, the reader holds ${base ? base.contentHash.slice(0, 12) : 'nothing'}` };
    const p = applyList(base.pods, message.pods ?? EMPTY, byUid);
    const r = applyList(base.rules, message.rules ?? EMPTY, byId);
    const t = applyList(base.tierRules ?? [], message.tierRules ?? EMPTY, byId);
    const s = applyList(base.sets.map(setRefOf), message.sets ?? EMPTY, byId);
    if (!p || !r || !t || !s) return { kind: 'refuse', reason: 'malformed', detail: 'a list delta does not fit its base' };
    [pods, rules, tierRules, refs] = [p, r, t, s];
  }
  const held = new Map((base?.sets ?? []).map((set) => [`${set.id}\n${addressSetHash(set)}`, set]));
  const sets: AddressSet[] = [];
  const missing: SetRef[] = [];
  for (const ref of refs) {
    const set = held.get(`${ref.id}\n${ref.hash}`) ?? lookup(ref);
    if (set === undefined) missing.push(ref);
    else if (set.id !== ref.id || addressSetHash(set) !== ref.hash) return { kind: 'refuse', reason: 'hash-mismatch', detail: `set ${ref.id}: the content found does not hash to ${ref.hash.slice(0, 12)}` };
    else sets.push(set);
  }
  if (missing.length > 0) return { kind: 'missing', refs: missing };
  const content = { node: message.node, pods, rules, sets, ...(tierRules.length > 0 ? { tierRules } : {}) };
  const actual = contentHash(content);
  // a pointer that does not reach its node's hash from this base was meant for another base: this reader missed a message
  if (actual !== message.contentHash && message.kind === 'pointer') return { kind: 'refuse', reason: 'wrong-base', detail: `pointer on this base reaches ${actual.slice(0, 12)}, its manifest says ${message.contentHash.slice(0, 12)}` };
  if (actual !== message.contentHash) return { kind: 'refuse', reason: 'hash-mismatch', detail: `content hashes to ${actual.slice(0, 12)}, message says ${message.contentHash.slice(0, 12)}` };
  // the hash just checked is the rule set's (makeRuleSet would hash the whole content again)
  return { kind: 'ok', ruleSet: { schema: RULESET_SCHEMA, version: message.version, contentHash: actual, ...content } };
}

const EMPTY: ListDelta<never> = { del: [], put: [] };
