import { createHash, type Hash } from 'node:crypto';
import { RULESET_SCHEMA, addressSetHash, canonicalJson, type RuleSet, type RuleSetContent, type RuleSetVersion } from '@knp/shared';

/*
 * `makeRuleSet` with the content hash computed from memoised pieces: the same bytes as @knp/shared's
 * `contentHash` (sha256 of the canonical JSON of node, pods, rules, set hashes and tier rules), so the same
 * hash, but each local pod entry and each rule's terms (shared by every node and every state that uses
 * them, see compile-node.ts) is printed once, not once per node per compile. At 1,000 nodes the canonical
 * printing was half of a full compile. The compiler's tests hold this equal to `makeRuleSet`.
 */

/** Canonical text of objects compileNode reuses across nodes and states (never modified once built). */
const texts = new WeakMap<object, string>();
const INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * canonicalJson(value), printed without sorted copies; memoised where `memo` says the object is shared:
 * local pod entries (reused across compiles and states) and rule terms (shared by every node using the rule).
 */
function canonicalText(value: unknown, memo: boolean): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  let text = memo ? texts.get(value) : undefined;
  if (text !== undefined) return text;
  if (Array.isArray(value)) text = `[${value.map((v) => canonicalText(v, false)).join(',')}]`;
  else {
    const keys = Object.keys(value).sort();
    // JSON prints integer-like keys first whatever their order: leave such objects to canonicalJson
    if (keys.some((k) => INDEX.test(k))) text = canonicalJson(value);
    else {
      let out = '{';
      for (const key of keys) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalText(v, key === 'terms')}`;
      }
      text = `${out}}`;
    }
  }
  if (memo) texts.set(value, text);
  return text;
}

/** A list printed canonically, each item memoised or not. */
const listText = (items: readonly unknown[], memo: boolean): string => `[${items.map((v) => canonicalText(v, memo)).join(',')}]`;

/** A node's hash state after its pods and rules: compileNode reuses those arrays while they are unchanged. */
type Prefix = { readonly node: string; readonly rules: RuleSetContent['rules']; readonly hash: Hash };
const prefixes = new WeakMap<RuleSetContent['pods'], Prefix>();

/**
 * contentHash(content) of @knp/shared, from memoised pieces: the canonical JSON of
 * `{node, pods, rules, sets: set hashes, tierRules?}` (keys in that, sorted, order), with the hash state
 * after `pods` and `rules` kept (Hash.copy) while the node's arrays are the same, so a node whose sets
 * alone changed hashes only its set hashes.
 */
export function fastContentHash(content: RuleSetContent): string {
  let prefix = prefixes.get(content.pods);
  if (!prefix || prefix.node !== content.node || prefix.rules !== content.rules) {
    const hash = createHash('sha256').update(`{"node":${JSON.stringify(content.node)},"pods":${listText(content.pods, true)},"rules":${listText(content.rules, false)},"sets":`);
    prefixes.set(content.pods, (prefix = { node: content.node, rules: content.rules, hash }));
  }
  const tiers = content.tierRules && content.tierRules.length > 0 ? `,"tierRules":${listText(content.tierRules, false)}` : '';
  return prefix.hash.copy().update(`${JSON.stringify(content.sets.map(addressSetHash))}${tiers}}`).digest('hex');
}

/** makeRuleSet(content, version) of @knp/shared: the same object, key for key. */
export function ruleSetOf(content: RuleSetContent, version: RuleSetVersion): RuleSet {
  return { schema: RULESET_SCHEMA, version, contentHash: fastContentHash(content), ...content };
}
