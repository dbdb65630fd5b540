import type { RuleSet } from '../ruleset.js';
import { RULESET_SCHEMA, SchemaError, checkSchema } from '../schema.js';
import { tierShapeProblem } from './rule-set-shape.js';

/** What the applier does with a message from its rules subject (pure). */
export type Admission =
  | { readonly kind: 'apply'; readonly ruleSet: RuleSet }
  /** Not for us, an unknown schema or not a rule set: keep the current rules and report `reason`. */
  | { readonly kind: 'refuse'; readonly reason: string; readonly version?: RuleSet['version'] };

/**
 * Decodes a rule set and checks it is meant for `node` and in a schema this applier knows. Whether it is
 * newer than what the kernel holds is the Applier core's business (stale / unchanged / applied).
 */
export function admitRuleSet(payload: Uint8Array | string, node: string): Admission {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { kind: 'refuse', reason: `not JSON: ${(err as Error).message}` };
  }
  try {
    checkSchema('rule set', value, RULESET_SCHEMA);
  } catch (err) {
    if (err instanceof SchemaError) return { kind: 'refuse', reason: err.message, ...versionOf(value) };
    throw err;
  }
  const problem = shapeProblem(value as Record<string, unknown>);
  if (problem !== undefined) return { kind: 'refuse', reason: `rule set: ${problem}`, ...versionOf(value) };
  const ruleSet = value as RuleSet;
  if (ruleSet.node !== node)
    return { kind: 'refuse', reason: `rule set addressed to node ${JSON.stringify(ruleSet.node)}, this applier enforces ${JSON.stringify(node)}`, version: ruleSet.version };
  return { kind: 'apply', ruleSet };
}

function shapeProblem(v: Record<string, unknown>): string | undefined {
  const version = v.version as Record<string, unknown> | undefined;
  if (typeof version !== 'object' || version === null || typeof version.epoch !== 'string' || !Number.isSafeInteger(version.seq))
    return 'version is not {epoch: string, seq: integer}';
  if (typeof v.node !== 'string') return 'node is not a string';
  if (typeof v.contentHash !== 'string' || !/^[0-9a-f]{64}$/.test(v.contentHash)) return 'contentHash is not a sha256';
  for (const key of ['pods', 'rules', 'sets']) if (!Array.isArray(v[key])) return `${key} is not a list`;
  return tierShapeProblem(v);
}

function versionOf(value: unknown): { version?: RuleSet['version'] } {
  const version = (value as { version?: { epoch?: unknown; seq?: unknown } } | null)?.version;
  return typeof version?.epoch === 'string' && typeof version.seq === 'number' ? { version: { epoch: version.epoch, seq: version.seq } } : {};
}
