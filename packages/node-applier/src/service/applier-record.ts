import { STATUS_SCHEMA, type ApplierRecord, type RuleSet } from '@knp/shared';
import type { Problem } from './handling.js';

/** What the status record says about rule sets: the one in force (version, hash, when) and the last problem. */
export type Reported = {
  readonly inForce?: Pick<ApplierRecord, 'version' | 'hash' | 'appliedAt'>;
  readonly error?: NonNullable<ApplierRecord['error']>;
};

/** A rule set in force (applied, or found already applied) at `at`; it clears the last problem. */
export function reportInForce(ruleSet: RuleSet, at: string): Reported {
  return { inForce: { version: ruleSet.version, hash: ruleSet.contentHash, appliedAt: at } };
}

/** A problem at `at`; the rules in force stay as reported. */
export function reportProblem(reported: Reported, problem: Problem, at: string): Reported {
  return { ...reported, error: { ...problem, at } };
}

/** The facts of the applier process the record carries next to `Reported`. */
export type ApplierFacts = Pick<ApplierRecord, 'node' | 'instance' | 'backend' | 'startedAt' | 'heartbeatMs' | 'kernelWrites' | 'repairs' | 'trust' | 'refused'>;

/** The status record as of `now` (pure: the shell passes the clock). */
export function applierRecord(reported: Reported, facts: ApplierFacts, now: string): ApplierRecord {
  return {
    schema: STATUS_SCHEMA,
    node: facts.node,
    instance: facts.instance,
    backend: facts.backend,
    startedAt: facts.startedAt,
    heartbeatAt: now,
    heartbeatMs: facts.heartbeatMs,
    ...(reported.inForce ?? {}),
    ...(reported.error ? { error: reported.error } : {}),
    kernelWrites: facts.kernelWrites,
    repairs: facts.repairs,
    ...(facts.trust ? { trust: facts.trust } : {}),
    ...(facts.refused ? { refused: facts.refused } : {}),
  };
}
