import type { RuleSetContent } from '@knp/shared';
import { planNft, type NftChainPlan, type NftPlan, type NftSetPlan } from './plan.js';
import type { RenderOptions } from '../common/text.js';

/**
 * The whole table for one node as one `nft -f` script. It declares, deletes and recreates the table in
 * one transaction (nft 1.0.6 has no `destroy table`), so loading it replaces any older version atomically
 * and touches no other table.
 */
export function renderNft(ruleSet: RuleSetContent, options: RenderOptions): string {
  return printNft(planNft(ruleSet, options));
}

export function printNft(plan: NftPlan): string {
  const t = plan.table;
  const out = [`table inet ${t} {}`, `delete table inet ${t}`, `table inet ${t} {`];
  for (const set of plan.sets) out.push(...printSet(set));
  for (const chain of plan.chains) out.push(...printChain(chain));
  out.push('}', '');
  return out.join('\n');
}

function printSet(set: NftSetPlan): string[] {
  const lines = [`\t${set.map ? 'map' : 'set'} ${set.name} {`, `\t\ttype ${set.type}`];
  if (set.interval) lines.push('\t\tflags interval');
  if (set.elements.length > 0) lines.push(`\t\telements = { ${set.elements.join(',\n\t\t\t')} }`);
  lines.push('\t}');
  return lines;
}

function printChain(chain: NftChainPlan): string[] {
  const lines = [`\tchain ${chain.name} {`];
  if (chain.hook) lines.push(`\t\t${chain.hook}`);
  if (chain.comment) lines.push(`\t\t${chain.comment}`);
  for (const rule of chain.rules) lines.push(`\t\t${rule}`);
  lines.push('\t}');
  return lines;
}

/**
 * When `next` differs from `prev` only in the members of pod-IP or pod-port sets, a script that changes
 * just those elements (one transaction, nothing else re-created); otherwise undefined (load the table).
 */
export function renderNftDelta(prev: NftPlan, next: NftPlan): string | undefined {
  if (prev.table !== next.table || prev.sets.length !== next.sets.length) return undefined;
  if (JSON.stringify(prev.chains) !== JSON.stringify(next.chains)) return undefined;
  const lines: string[] = [];
  for (const [i, n] of next.sets.entries()) {
    const p = prev.sets[i]!;
    if (p.name !== n.name || p.type !== n.type || p.interval !== n.interval || p.map !== n.map) return undefined;
    const before = new Set(p.elements), after = new Set(n.elements);
    const removed = p.elements.filter((e) => !after.has(e)), added = n.elements.filter((e) => !before.has(e));
    if (removed.length === 0 && added.length === 0) continue;
    // interval sets and verdict maps are rebuilt with the table: overlapping ranges and chain lifetimes make
    // element edits there error-prone, and they change with policies, not with pods
    if (n.role !== 'pods' && n.role !== 'pod-ports') return undefined;
    if (removed.length > 0) lines.push(`delete element inet ${next.table} ${n.name} { ${removed.join(', ')} }`);
    if (added.length > 0) lines.push(`add element inet ${next.table} ${n.name} { ${added.join(', ')} }`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
