import type { IpsetPlan, IptPlan } from './plan.js';

/**
 * Versioned set names for the iptables + ipset full load. ipset and iptables-restore are separate
 * transactions, so a set whose members change under chains that change too would let old chains see new
 * members (or new chains old members): a verdict of neither version. Instead every set has two kernel
 * names, `<name>` and `<name>-b`; a full load fills the changed sets under the name the chains do not
 * use, then one iptables-restore per family switches the chains to them, then the sets no chain uses go.
 * Per family the kernel holds the old version until that restore commits, the new one after it.
 * Set-member deltas (chains unchanged) edit the live sets in place: adds before deletes (see
 * `renderIpsetDelta`), and since every term matches one set, each packet then gets the old or the new verdict.
 */
export const ipsetOtherName = (name: string): string => (name.endsWith('-b') ? name.slice(0, -2) : `${name}-b`);

/** `<name>-b` -> `<name>`: the planned name of a kernel set of either generation. */
export const ipsetPlannedName = (kernelName: string): string => (/-as-[0-9a-f]{14}-b$/.test(kernelName) ? kernelName.slice(0, -2) : kernelName);

/** What our chains name after `--match-set` in saved lines (`-A CHAIN ... -m set --match-set NAME src ...`). */
export function referencedSets(savedLines: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const line of savedLines) for (const m of line.matchAll(/--match-set (\S+) /g)) out.add(m[1]!);
  return out;
}

/** The kernel facts a placement needs: sets our chains reference now, and every set that exists. */
export type IpsetKernelFacts = { readonly referenced: ReadonlySet<string>; readonly existing: ReadonlySet<string> };

/**
 * Where each planned set goes in a full load. `names`: planned name -> kernel name the new chains use.
 * `fill`: the sets to create and fill (under their kernel names); `destroyFirst`: leftovers of an earlier
 * interrupted load holding a name we fill (no chain of ours references them). `unchanged(set)` says the
 * kernel's live set of that name holds exactly the planned entries (the caller knows it from the rule set
 * the kernel holds; without one, nothing is unchanged and every set moves to its other name).
 */
export type SetPlacement = { readonly names: ReadonlyMap<string, string>; readonly fill: readonly IpsetPlan[]; readonly destroyFirst: readonly string[] };

export function placeSets(plan: IptPlan, kernel: IpsetKernelFacts, unchanged: (set: IpsetPlan) => boolean): SetPlacement {
  const names = new Map<string, string>(), fill: IpsetPlan[] = [], destroyFirst: string[] = [];
  for (const set of plan.sets) {
    const other = ipsetOtherName(set.name);
    const live = kernel.referenced.has(set.name) ? set.name : kernel.referenced.has(other) ? other : undefined;
    if (live !== undefined && unchanged(set)) {
      names.set(set.name, live);
      continue;
    }
    const target = live === set.name ? other : set.name;
    if (kernel.existing.has(target)) destroyFirst.push(target);
    names.set(set.name, target);
    fill.push({ ...set, name: target });
  }
  return { names, fill, destroyFirst };
}

/** `plan` with its sets under their kernel names, in the sets and in every rule that matches one. */
export function withKernelSetNames(plan: IptPlan, names: ReadonlyMap<string, string>): IptPlan {
  const rename = (rule: string): string => rule.replace(/--match-set (\S+) /g, (whole, name: string) => `--match-set ${names.get(name) ?? name} `);
  const table = (family: 4 | 6): IptPlan['tables'][4] => {
    const t = plan.tables[family];
    return { ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.map(rename) })) };
  };
  return { ...plan, sets: plan.sets.map((s) => ({ ...s, name: names.get(s.name) ?? s.name })), tables: { 4: table(4), 6: table(6) } };
}
