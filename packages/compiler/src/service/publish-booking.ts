import type { RuleSet } from '@knp/shared';
import type { PublishOutcome } from './rules-store.js';

/** What this replica did with the rule sets it computed, since it started. */
export type PublishCounters = { published: number; adopted: number; behind: number; errors: number };

/** A computed rule set with the content this replica holds already needs no publishing (and the node is clean). */
export function isHeld(held: RuleSet | undefined, computed: RuleSet): boolean {
  return held?.contentHash === computed.contentHash;
}

/**
 * How a replica books one node after RulesStore.publish, or after it failed:
 * - `counter`: which counter grows;
 * - `hold`: the rule set it holds as current from now on (the one it published, or the one it adopted);
 * - `recheck`: keep the node dirty, to compile it again at the next evaluation.
 */
export type Booking = { readonly counter: keyof PublishCounters; readonly hold: RuleSet | undefined; readonly recheck: boolean };

export function bookPublish(outcome: PublishOutcome | 'failed'): Booking {
  if (outcome === 'failed') return { counter: 'errors', hold: undefined, recheck: true };
  // another replica has seen more events: look again after the next evaluation
  if (outcome.decision === 'behind') return { counter: 'behind', hold: undefined, recheck: true };
  const adopted = outcome.decision === 'adopt' || outcome.duplicate === true;
  return { counter: adopted ? 'adopted' : 'published', hold: outcome.ruleSet, recheck: false };
}
