import type { RuleSet } from '@knp/shared';
import type { Backend, KernelObjects, LoadReport } from '../backend.js';
import { fingerprintNftListing } from '../render/nft/fingerprint.js';
import { planNft, type NftPlan } from '../render/nft/plan.js';
import { printNft, renderNftDelta } from '../render/nft/print.js';
import { nftDeleteTableScript, nftListTable, nftLoad } from './nft.js';
import { NftSession } from './nft-session.js';
import { PlanCache } from './plan-cache.js';
import type { KernelTarget } from './run.js';

export type NftBackendOptions = {
  readonly prefix: string;
  readonly netns?: string | undefined;
  readonly timeoutMs?: number;
  /**
   * Transactions through one long-lived `nft -i` child (default, or the session given: tests) or a one-shot
   * `nft -f` each (false; the bench compares).
   */
  readonly session?: boolean | NftSession;
};

/**
 * The nftables dataplane: one `inet <prefix>` table, replaced in one transaction or changed by set members.
 * Loads and removals go through an `NftSession` (one `nft -i` child, started at the first load); `check`
 * and `observe` run one-shot `nft` commands.
 */
export function nftBackend(options: NftBackendOptions): Backend {
  const target: KernelTarget = { netns: options.netns, timeoutMs: options.timeoutMs ?? 30_000 };
  const session = options.session === false ? undefined : options.session === true || options.session === undefined ? new NftSession(target) : options.session;
  const transaction = (script: string): Promise<void> => (session ? session.run(script) : nftLoad(script, target));
  const plans = new PlanCache<NftPlan>((ruleSet) => planNft(ruleSet, { prefix: options.prefix }));
  const planOf = (ruleSet: RuleSet): NftPlan => plans.of(ruleSet);
  return {
    kind: 'nftables',
    async load(next, prev): Promise<LoadReport> {
      const plan = planOf(next);
      const delta = prev ? renderNftDelta(planOf(prev), plan) : undefined;
      const script = delta ?? printNft(plan);
      const started = performance.now();
      if (script !== '') await transaction(script);
      return { mode: delta === undefined ? 'full' : 'delta', scriptBytes: script.length, kernelMs: performance.now() - started };
    },
    async check(next) {
      await nftLoad(printNft(planOf(next)), target, { check: true });
    },
    async observe() {
      const listing = await nftListTable('inet', options.prefix, target);
      return listing === undefined ? undefined : fingerprintNftListing(listing);
    },
    async remove() {
      await transaction(nftDeleteTableScript('inet', options.prefix));
    },
    async close() {
      await session?.close();
    },
    objects: (ruleSet) => nftObjects(planOf(ruleSet)),
  };
}

/** Rules of every chain and elements of every set (and verdict map) of the table. */
export function nftObjects(plan: NftPlan): KernelObjects {
  return { rules: plan.chains.reduce((n, c) => n + c.rules.length, 0), elements: plan.sets.reduce((n, s) => n + s.elements.length, 0) };
}
