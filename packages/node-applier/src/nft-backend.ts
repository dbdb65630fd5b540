import type { RuleSet } from '@knp/shared';
import type { Backend, LoadReport } from './backend.js';
import { nftDeleteTable, nftListTable, nftLoad, type KernelTarget } from './nft.js';
import { fingerprintNftListing } from './nft-fingerprint.js';
import { planNft, type NftPlan } from './nft-plan.js';
import { printNft, renderNftDelta } from './render-nft.js';

export type NftBackendOptions = { readonly prefix: string; readonly netns?: string | undefined; readonly timeoutMs?: number };

/** The nftables dataplane: one `inet <prefix>` table, replaced in one transaction or changed by set members. */
export function nftBackend(options: NftBackendOptions): Backend {
  const target: KernelTarget = { netns: options.netns, timeoutMs: options.timeoutMs ?? 30_000 };
  const plans = new Map<string, NftPlan>(); // by content hash: the last two plans, for deltas
  const planOf = (ruleSet: RuleSet): NftPlan => {
    const cached = plans.get(ruleSet.contentHash);
    if (cached) return cached;
    const plan = planNft(ruleSet, { prefix: options.prefix });
    plans.set(ruleSet.contentHash, plan);
    while (plans.size > 2) plans.delete(plans.keys().next().value!);
    return plan;
  };
  return {
    kind: 'nftables',
    async load(next, prev): Promise<LoadReport> {
      const plan = planOf(next);
      const delta = prev ? renderNftDelta(planOf(prev), plan) : undefined;
      const script = delta ?? printNft(plan);
      const started = performance.now();
      if (script !== '') await nftLoad(script, target);
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
      await nftDeleteTable('inet', options.prefix, target);
    },
  };
}
