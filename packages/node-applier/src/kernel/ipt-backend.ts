import type { Family, Logger, RuleSet } from '@knp/shared';
import type { Backend, KernelObjects, LoadReport } from '../backend.js';
import { fingerprintIptables, parseIpsetSave, parseIptablesSave, type IptSaved } from '../render/iptables/fingerprint.js';
import { planIptables, type IptPlan } from '../render/iptables/plan.js';
import { printIpsetDestroy, printIpsetLoad, printIptables, printIptablesRemoval, renderIpsetDelta } from '../render/iptables/print.js';
import type { IptablesMode } from '../iptables-variant.js';
import { detectIptablesVariant } from './detect-iptables.js';
import { ipsetNames, ipsetRestore, ipsetSave, iptablesRestore, iptablesSave } from './ipt.js';
import { PlanCache } from './plan-cache.js';
import type { KernelTarget } from './run.js';

export type IptablesBackendOptions = {
  readonly prefix: string;
  readonly netns?: string | undefined;
  readonly timeoutMs?: number;
  /** KNP_IPTABLES_MODE: the iptables client to program with; `auto` (default) uses the one the node already uses. */
  readonly mode?: IptablesMode;
  /** Where the chosen iptables variant and a failed clean-up of unused sets is reported (it does not fail the load). */
  readonly log?: Logger;
};

const FAMILIES: readonly Family[] = [4, 6];

/**
 * The iptables + ipset dataplane (iptables-nft or legacy, as the system provides). A full load is:
 * 1. read what of ours the kernel holds (iptables-save, ipset list -n);
 * 2. one `ipset restore`: every set filled under a temporary name and swapped in (live sets are never
 *    partial; a set's name is a hash of what selects it, so old chains seeing new members is the old
 *    policy applied to today's pods, never an opening);
 * 3. per family one `iptables-restore --noflush` replacing our chains and the FORWARD jump (all or nothing;
 *    the isolation itself, which pod IPs are dispatched, changes only here);
 * 4. destroy sets nothing references any more.
 * Set-member-only changes are one `ipset restore` of add/del lines. The iptables variant (nft or legacy)
 * is chosen once, before the first kernel command.
 */
export function iptablesBackend(options: IptablesBackendOptions): Backend {
  const base: KernelTarget = { netns: options.netns, timeoutMs: options.timeoutMs ?? 30_000 };
  let chosen: Promise<KernelTarget> | undefined;
  const targetOf = (): Promise<KernelTarget> =>
    (chosen ??= detectIptablesVariant(options.mode ?? 'auto', base).then((choice) => {
      options.log?.info({ variant: choice.variant ?? 'plain', reason: choice.reason }, 'iptables variant chosen');
      return { ...base, iptables: choice.variant };
    }));
  const { prefix } = options;
  const plans = new PlanCache<IptPlan>((ruleSet) => planIptables(ruleSet, { prefix: options.prefix }));
  const planOf = (ruleSet: RuleSet): IptPlan => plans.of(ruleSet);
  const readChains = async (target: KernelTarget): Promise<Record<Family, IptSaved>> => {
    const [v4, v6] = await Promise.all(FAMILIES.map(async (f) => parseIptablesSave(await iptablesSave(f, target), prefix)));
    return { 4: v4!, 6: v6! };
  };
  const ours = (name: string): boolean => name.startsWith(`${prefix}-`);

  return {
    kind: 'iptables',
    async load(next, prev): Promise<LoadReport> {
      const target = await targetOf();
      const plan = planOf(next);
      const delta = prev ? renderIpsetDelta(planOf(prev), plan) : undefined;
      const started = performance.now();
      if (delta !== undefined) {
        await ipsetRestore(delta, target);
        return { mode: 'delta', scriptBytes: delta.length, kernelMs: performance.now() - started };
      }
      const [chains, names] = await Promise.all([readChains(target), ipsetNames(target)]);
      const setScript = printIpsetLoad(plan);
      await ipsetRestore(setScript, target);
      let bytes = setScript.length;
      for (const family of FAMILIES) {
        const script = plan.families.includes(family) ? printIptables(plan, family, chains[family]) : printIptablesRemoval(chains[family]);
        bytes += script.length;
        if (script !== '') await iptablesRestore(family, script, target);
      }
      const planned = new Set(plan.sets.map((s) => s.name));
      const unused = names.filter((n) => ours(n) && !planned.has(n));
      if (unused.length > 0)
        await ipsetRestore(printIpsetDestroy(unused), target).catch((err: unknown) => {
          // harmless (nothing of ours references them) and retried by the next full load
          options.log?.warn({ err, sets: unused.length }, 'destroying unused ipsets failed');
        });
      return { mode: 'full', scriptBytes: bytes, kernelMs: performance.now() - started };
    },
    async check(next) {
      const target = await targetOf();
      const plan = planOf(next);
      const chains = await readChains(target);
      // `--test` parses and validates the chains; the sets they name may not exist yet, so names only
      for (const family of plan.families) await iptablesRestore(family, printIptables(plan, family, chains[family]).replace(/-m set --match-set \S+ \S+ /g, ''), target, { test: true });
    },
    async observe() {
      const target = await targetOf();
      const [chains, saved] = await Promise.all([readChains(target), ipsetSave(target)]);
      return fingerprintIptables(chains[4], chains[6], parseIpsetSave(saved, prefix));
    },
    async remove() {
      const target = await targetOf();
      const chains = await readChains(target);
      for (const family of FAMILIES) {
        const script = printIptablesRemoval(chains[family]);
        if (script !== '') await iptablesRestore(family, script, target);
      }
      const names = (await ipsetNames(target)).filter(ours);
      if (names.length > 0) await ipsetRestore(printIpsetDestroy(names), target);
    },
    objects: (ruleSet) => iptObjects(planOf(ruleSet)),
  };
}

/** Rules of our chains in the families loaded, and entries of every ipset. */
export function iptObjects(plan: IptPlan): KernelObjects {
  const rules = plan.families.reduce((n, f) => n + plan.tables[f].chains.reduce((m, c) => m + c.rules.length, 0), 0);
  return { rules, elements: plan.sets.reduce((n, s) => n + s.entries.length, 0) };
}
