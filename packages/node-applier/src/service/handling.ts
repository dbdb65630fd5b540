import { assertNever, type ApplierErrorKind, type RuleSet, type RuleSetVersion } from '@knp/shared';
import type { ApplyOutcome } from '../applier.js';
import type { ApplierRefusalReason } from './refusals.js';

/**
 * A chunked rule set whose part cannot be read may be a transient read error: it is delivered again this
 * many times before the applier reports it and moves on (its parts may have been evicted for good).
 */
export const UNREADABLE_REDELIVERIES = 3;

/** What became of one rule set from the stream or the state file: facts gathered by the shell, no I/O here. */
export type Handled =
  /** Reading the payload failed; `chunkError`: a part was missing or corrupt (worth another try). */
  | { readonly kind: 'unreadable'; readonly err: Error; readonly chunkError: boolean; readonly redeliveries: number }
  /** The message carried nothing to apply (a chunk part, never delivered by the exact-subject filter). */
  | { readonly kind: 'empty' }
  /** Failed a check (`checkRuleSet`: unsigned, forged, not for this node, ...) or could not be rendered. */
  | { readonly kind: 'refused'; readonly reason: ApplierRefusalReason; readonly detail: string; readonly version?: RuleSetVersion }
  /** The Applier core gave up after its retries; the previous rules stay in force. */
  | { readonly kind: 'failed'; readonly err: Error; readonly version: RuleSetVersion }
  /** The Applier core took it: applied, unchanged (same content) or stale (not newer than the rules in force). */
  | { readonly kind: 'done'; readonly ruleSet: RuleSet; readonly outcome: ApplyOutcome };

/** What the status record reports: the rules in force stay those recorded before. */
export type Problem = { readonly kind: ApplierErrorKind; readonly message: string; readonly version?: RuleSetVersion };

export type Settle = { readonly kind: 'ack' } | { readonly kind: 'nak'; readonly delayMs: number };

export type Verdict = {
  /** For a consumed message: ack it, or have JetStream deliver it again after `delayMs`. */
  readonly settle: Settle;
  /** The rule set is now in force: record its version, keep it in the state file, tell `onApplied`. */
  readonly inForce: boolean;
  readonly problem?: Problem;
};

const ACK: Settle = { kind: 'ack' };

/**
 * What the applier does after handling one rule set. A redelivery helps only where the next attempt can
 * end otherwise: a failed apply (the kernel may recover) and a chunk read error (for a few tries). A
 * refusal would refuse again, and a stale or unchanged rule set needs no kernel write: ack them.
 */
export function judgeHandled(handled: Handled, retryDelayMs: number): Verdict {
  const retry: Settle = { kind: 'nak', delayMs: retryDelayMs };
  switch (handled.kind) {
    case 'unreadable': {
      const final = !handled.chunkError || handled.redeliveries >= UNREADABLE_REDELIVERIES;
      return final ? { settle: ACK, inForce: false, problem: { kind: 'unreadable', message: handled.err.message } } : { settle: retry, inForce: false };
    }
    case 'empty':
      return { settle: ACK, inForce: false };
    case 'refused':
      return { settle: ACK, inForce: false, problem: { kind: 'refused', message: `${handled.reason}: ${handled.detail}`, ...(handled.version ? { version: handled.version } : {}) } };
    case 'failed':
      return { settle: retry, inForce: false, problem: { kind: 'apply-failed', message: handled.err.message, version: handled.version } };
    case 'done':
      return { settle: ACK, inForce: isInForce(handled.outcome) };
    default:
      return assertNever(handled);
  }
}

/** Whether an apply outcome leaves its rule set in force: applied, or the kernel already held its content. */
export function isInForce(outcome: ApplyOutcome): boolean {
  switch (outcome.kind) {
    case 'applied':
    case 'unchanged':
      return true;
    case 'stale':
      return false;
    default:
      return assertNever(outcome);
  }
}
