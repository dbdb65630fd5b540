import { canonicalJson } from '../canonical.js';
import type { RuleSet } from '../ruleset.js';
import type { SigningKey } from './keys.js';
import { signatureHeaders } from './trust.js';

/**
 * What a compiler vouches for when it publishes a rule set: the node, the version and the content hash,
 * as canonical JSON in this header. The signature covers these bytes only (a few hundred), not the whole
 * rule set; the reader then checks that the content it received hashes to `contentHash`.
 */
export const STATEMENT_HEADER = 'Knp-Statement';

export type RuleSetStatement = { readonly node: string; readonly epoch: string; readonly seq: number; readonly contentHash: string };

export function statementOf(ruleSet: RuleSet): RuleSetStatement {
  return { node: ruleSet.node, epoch: ruleSet.version.epoch, seq: ruleSet.version.seq, contentHash: ruleSet.contentHash };
}

export function statementText(statement: RuleSetStatement): string {
  return canonicalJson(statement);
}

/** Parses a statement header: exactly the four fields, typed; undefined for anything else. */
export function parseStatement(text: string): RuleSetStatement | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).sort().join(',') !== 'contentHash,epoch,node,seq') return undefined;
  if (typeof o.node !== 'string' || typeof o.epoch !== 'string' || typeof o.contentHash !== 'string' || !Number.isSafeInteger(o.seq)) return undefined;
  if (!/^[0-9a-f]{64}$/.test(o.contentHash) || (o.seq as number) < 0) return undefined;
  return { node: o.node, epoch: o.epoch, seq: o.seq as number, contentHash: o.contentHash };
}

/** The headers a compiler puts on a rule set: the statement, signed when it has a key. */
export function ruleSetHeaders(signer: SigningKey | undefined, ruleSet: RuleSet): ReadonlyMap<string, string> {
  const text = statementText(statementOf(ruleSet));
  const out = new Map<string, string>([[STATEMENT_HEADER, text]]);
  if (signer) for (const [k, v] of signatureHeaders(signer, Buffer.from(text, 'utf8'))) out.set(k, v);
  return out;
}
