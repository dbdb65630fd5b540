import type { RuleSet } from '@knp/shared';

/**
 * The plans of the last two rule sets a backend saw, by content hash: the one the kernel holds and the one
 * being loaded, so a delta compares two plans without planning either twice.
 */
export class PlanCache<P> {
  private readonly plans = new Map<string, P>();

  constructor(private readonly plan: (ruleSet: RuleSet) => P) {}

  of(ruleSet: RuleSet): P {
    const cached = this.plans.get(ruleSet.contentHash);
    if (cached) return cached;
    const plan = this.plan(ruleSet);
    this.plans.set(ruleSet.contentHash, plan);
    while (this.plans.size > 2) this.plans.delete(this.plans.keys().next().value!);
    return plan;
  }
}
