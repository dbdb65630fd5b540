import { createHash } from 'node:crypto';
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
 * canonicalJson(value), memoised per object from `depth` 2 on: the rule set's own lists (depth 1) are made
 * per compile, their items (local pods, rules, and what they hold) are mostly shared.
 */
function canonicalText(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const memo = depth >= 2;
  let text = memo ? texts.get(value) : undefined;
  if (text !== undefined) return text;
  if (Array.isArray(value)) text = `[${value.map((v) => canonicalText(v, depth + 1)).join(',')}]`;
  else {
    const keys = Object.keys(value).sort();
    // JSON prints integer-like keys first whatever their order: leave such objects to canonicalJson
    if (keys.some((k) => INDEX.test(k))) text = canonicalJson(value);
    else {
      const parts: string[] = [];
      for (const key of keys) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') parts.push(`${JSON.stringify(key)}:${canonicalText(v, depth + 1)}`);
      }
      text = `{${parts.join(',')}}`;
    }
  }
  if (memo) texts.set(value, text);
  return text;
}

/** contentHash(content) of @knp/shared, from memoised pieces. */
export function fastContentHash(content: RuleSetContent): string {
  const tiers = content.tierRules && content.tierRules.length > 0 ? { tierRules: content.tierRules } : {};
  const hashed = { node: content.node, pods: content.pods, rules: content.rules, sets: content.sets.map(addressSetHash), ...tiers };
  const hash = createHash('sha256');
  hash.update(canonicalText(hashed, 0));
  return hash.digest('hex');
}

/** makeRuleSet(content, version) of @knp/shared: the same object, key for key. */
export function ruleSetOf(content: RuleSetContent, version: RuleSetVersion): RuleSet {
  return { schema: RULESET_SCHEMA, version, contentHash: fastContentHash(content), ...content };
}
