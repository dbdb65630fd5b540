import type { Family, RuleSetContent } from '@knp/shared';
import { IPSET_MAXELEM, planIptables, type IpsetPlan, type IptPlan } from './plan.js';
import type { RenderOptions } from '../common/text.js';
import type { SetPlacement } from './generations.js';

/** What the kernel holds of ours in one family's filter table (read with iptables-save before a load). */
export type IptKernelFacts = {
  /** Our chains (prefix-named) present now. */
  readonly chains: readonly string[];
  /** Every FORWARD rule spec that enters one of our chains, as iptables-save prints it (`-j KNP-FW-...`). */
  readonly forwardJumps: readonly string[];
};
export const NO_KERNEL_FACTS: IptKernelFacts = { chains: [], forwardJumps: [] };

/** The temporary name a set is filled under before `swap`: fits ipset's 31 (prefix 8 + 18 + 2). */
export const ipsetTempName = (name: string): string => `${name}-t`;

/**
 * `ipset restore` input for every set of the rule set, loadable on a fresh node and again on a loaded one:
 * each set is filled under a temporary name and swapped in (`swap` is atomic and keeps the iptables
 * references, which follow the live set), so a live set is never empty or half-filled. Every line carries
 * `-exist`, so plain `ipset restore` takes it. Sets no longer used are destroyed by the backend after the
 * chains stop referencing them.
 */
export function renderIpset(ruleSet: RuleSetContent, options: RenderOptions): string {
  return printIpsetLoad(planIptables(ruleSet, options));
}

export function printIpsetLoad(plan: IptPlan): string {
  const out: string[] = [];
  for (const set of plan.sets) {
    const temp = ipsetTempName(set.name);
    out.push(`create ${temp} ${createArgs(set)} -exist`, `flush ${temp}`);
    for (const entry of set.entries) out.push(`add ${temp} ${entry} -exist`);
    out.push(`create ${set.name} ${createArgs(set)} -exist`, `swap ${temp} ${set.name}`, `destroy ${temp}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * `ipset restore` input for a full load's sets (`placeSets`): leftovers destroyed, then each set created and
 * filled under its kernel name, which no chain of ours references yet.
 */
export function printIpsetFill(placement: Pick<SetPlacement, 'fill' | 'destroyFirst'>): string {
  const out = placement.destroyFirst.map((n) => `destroy ${n}`);
  for (const set of placement.fill) {
    out.push(`create ${set.name} ${createArgs(set)}`);
    for (const entry of set.entries) out.push(`add ${set.name} ${entry} -exist`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function createArgs(set: IpsetPlan): string {
  return `${set.type} family ${set.family === 4 ? 'inet' : 'inet6'} maxelem ${IPSET_MAXELEM}`;
}

/** `destroy` lines for sets the chains no longer reference. */
export function printIpsetDestroy(names: readonly string[]): string {
  return names.map((n) => `destroy ${n}\n`).join('');
}

/**
 * `iptables-restore --noflush` (ip6tables-restore for family 6) input declaring only our chains: each is
 * declared (which flushes it) and filled; chains of ours the kernel still holds but the plan does not are
 * flushed and deleted; every FORWARD jump into our chains is deleted and exactly one is inserted at
 * position 1, so other components' ACCEPT rules in FORWARD cannot bypass it and a reload never adds a
 * second. One COMMIT: the kernel takes all of it or, rejecting it, keeps the previous rules. `kernel`
 * describes what is there now (none: a fresh node, as `knp compile --format iptables` prints).
 */
export function renderIptables(ruleSet: RuleSetContent, options: RenderOptions & { readonly family: Family; readonly kernel?: IptKernelFacts }): string {
  return printIptables(planIptables(ruleSet, options), options.family, options.kernel ?? NO_KERNEL_FACTS);
}

export function printIptables(plan: IptPlan, family: Family, kernel: IptKernelFacts): string {
  const table = plan.tables[family];
  const planned = new Set(table.chains.map((c) => c.name));
  const stale = kernel.chains.filter((c) => !planned.has(c));
  const out = ['*filter', ...table.chains.map((c) => `:${c.name} - [0:0]`), ...stale.map((c) => `:${c} - [0:0]`)];
  for (const spec of kernel.forwardJumps) out.push(`-D FORWARD ${spec}`);
  out.push(`-I FORWARD 1 -j ${table.top}`);
  for (const chain of table.chains) for (const rule of chain.rules) out.push(`-A ${chain.name} ${rule}`);
  for (const c of stale) out.push(`-X ${c}`);
  out.push('COMMIT', '');
  return out.join('\n');
}

/** Input removing every chain of ours and every FORWARD jump into them; '' when there is nothing. */
export function printIptablesRemoval(kernel: IptKernelFacts): string {
  if (kernel.chains.length === 0 && kernel.forwardJumps.length === 0) return '';
  const out = ['*filter', ...kernel.chains.map((c) => `:${c} - [0:0]`), ...kernel.forwardJumps.map((spec) => `-D FORWARD ${spec}`), ...kernel.chains.map((c) => `-X ${c}`), 'COMMIT', ''];
  return out.join('\n');
}

/**
 * When `next` differs from `prev` only in the entries of pod-IP or pod-port sets, one `ipset restore`
 * batch changing just those entries; otherwise undefined (load everything). Additions come before
 * deletions: ipset applies a batch line by line, and adding first means a set only ever holds the old
 * members, the union, or the new members, never fewer than either rule set allows.
 */
export function renderIpsetDelta(prev: IptPlan, next: IptPlan): string | undefined {
  if (prev.prefix !== next.prefix || prev.sets.length !== next.sets.length) return undefined;
  if (prev.families.join() !== next.families.join() || JSON.stringify(prev.tables) !== JSON.stringify(next.tables)) return undefined;
  const adds: string[] = [], dels: string[] = [];
  for (const [i, n] of next.sets.entries()) {
    const p = prev.sets[i]!;
    if (p.name !== n.name || p.type !== n.type || p.family !== n.family) return undefined;
    const before = new Set(p.entries), after = new Set(n.entries);
    const removed = p.entries.filter((e) => !after.has(e)), added = n.entries.filter((e) => !before.has(e));
    if (removed.length === 0 && added.length === 0) continue;
    // ipBlock sets change with policies, not pods, and `nomatch` holes make entry edits order-sensitive
    if (n.role !== 'pods' && n.role !== 'pod-ports') return undefined;
    for (const e of added) adds.push(`add ${n.name} ${e} -exist`);
    for (const e of removed) dels.push(`del ${n.name} ${e} -exist`);
  }
  const lines = [...adds, ...dels];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
