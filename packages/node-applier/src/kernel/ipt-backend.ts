import type { Family, Logger, RuleSet } from '@knp/shared';
import type { Backend, KernelObjects, LoadReport } from '../backend.js';
import { fingerprintIptables, parseIpsetSave, parseIptablesSave, type IptSaved } from '../render/iptables/fingerprint.js';
import { planIptables, type IpsetPlan, type IptPlan } from '../render/iptables/plan.js';
import { printIpsetDestroy, printIpsetFill, printIptables, printIptablesRemoval, renderIpsetDelta } from '../render/iptables/print.js';
import { ipsetPlannedName, placeSets, referencedSets, withKernelSetNames } from '../render/iptables/generations.js';
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
 * 2. one `ipset restore` creating and filling every set whose members changed under the set's other
 *    name (`<name>` / `<name>-b`, see generations.ts), which no chain references yet; unchanged sets stay;
 * 3. per family one `iptables-restore --noflush` replacing our chains (now naming the new sets) and the
 *    FORWARD jump, all or nothing: a family enforces the old version until it commits, the new one after;
 * 4. destroy sets nothing references any more (the old generation, sets no rule uses).
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
  /** Planned set name -> the kernel name our chains use (generations.ts); undefined: read from the chains. */
  let live: ReadonlyMap<string, string> | undefined;

  return {
    kind: 'iptables',
    async load(next, prev): Promise<LoadReport> {
      const target = await targetOf();
      const plan = planOf(next);
      const prevPlan = prev ? planOf(prev) : undefined;
      const delta = prevPlan ? renderIpsetDelta(prevPlan, plan) : undefined;
      const started = performance.now();
      if (delta !== undefined) {
        // the live sets may carry their other name (generations.ts)
        const names = (live ??= liveNames(await readChains(target)));
        const script = delta.replace(/^(add|del) (\S+) /gm, (_, verb: string, name: string) => `${verb} ${names.get(name) ?? name} `);
        await ipsetRestore(script, target);
        return { mode: 'delta', scriptBytes: script.length, kernelMs: performance.now() - started };
      }
      live = undefined; // until this load has switched every family's chains
      const [chains, existing] = await Promise.all([readChains(target), ipsetNames(target)]);
      const before = new Map(prevPlan?.sets.map((s) => [s.name, s]));
      const unchanged = (set: IpsetPlan): boolean => {
        const p = before.get(set.name);
        return p !== undefined && p.type === set.type && p.family === set.family && p.entries.join('\n') === set.entries.join('\n');
      };
      const referenced = referencedSets([...chains[4].lines, ...chains[6].lines]);
      const placement = placeSets(plan, { referenced, existing: new Set(existing) }, unchanged);
      const kernelPlan = withKernelSetNames(plan, placement.names);
      // 1. changed sets filled under names no chain uses; 2. per family the chains switch to them at once
      const setScript = printIpsetFill(placement);
      await ipsetRestore(setScript, target);
      let bytes = setScript.length;
      for (const family of FAMILIES) {
        const script = plan.families.includes(family) ? printIptables(kernelPlan, family, chains[family]) : printIptablesRemoval(chains[family]);
        bytes += script.length;
        if (script !== '') await iptablesRestore(family, script, target);
      }
      live = placement.names;
      // 3. the sets no chain of ours uses any more
      const inUse = new Set(placement.names.values());
      const unused = existing.filter((n) => ours(n) && !inUse.has(n));
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
      live = undefined;
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

/** Planned set name -> the name our chains reference now, from saved chains. */
function liveNames(chains: Record<Family, IptSaved>): Map<string, string> {
  return new Map([...referencedSets([...chains[4].lines, ...chains[6].lines])].map((n) => [ipsetPlannedName(n), n]));
}

/** Rules of our chains in the families loaded, and entries of every ipset. */
export function iptObjects(plan: IptPlan): KernelObjects {
  const rules = plan.families.reduce((n, f) => n + plan.tables[f].chains.reduce((m, c) => m + c.rules.length, 0), 0);
  return { rules, elements: plan.sets.reduce((n, s) => n + s.entries.length, 0) };
}
