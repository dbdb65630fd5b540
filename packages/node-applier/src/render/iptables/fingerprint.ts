import { sha256 } from '@knp/shared';
import type { IptKernelFacts } from './print.js';

const plannedNames = (line: string): string => line.replace(/(-as-[0-9a-f]{14})-b(?= |$)/g, '$1');

/** Our part of one family's `iptables-save -t filter` output: what a load must replace, and what to compare. */
export type IptSaved = IptKernelFacts & {
  /** Declarations and rules of our chains, as saved (counters dropped), in kernel order. */
  readonly lines: readonly string[];
  /** Positions (1-based) of the FORWARD rules entering our chains. */
  readonly jumpPositions: readonly number[];
};

/**
 * Reads our chains (names starting `<PREFIX>-`) and the FORWARD jumps into them from iptables-save text.
 * Only the filter table is looked at; other components' chains and rules are ignored.
 */
export function parseIptablesSave(text: string, prefix: string): IptSaved {
  const ours = `${prefix.toUpperCase()}-`;
  const chains: string[] = [], lines: string[] = [], forwardJumps: string[] = [], jumpPositions: number[] = [];
  let table = '', forwardIndex = 0;
  const enters = new RegExp(`(?:^| )-[jg] ${ours.replace(/[^A-Z0-9-]/g, '')}\\S*(?: |$)`);
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    if (table !== 'filter') continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (name.startsWith(ours)) {
        chains.push(name);
        lines.push(`:${name}`);
      }
    } else if (line.startsWith('-A ')) {
      const [, chain = '', ...rest] = line.split(' ');
      const spec = rest.join(' ');
      if (chain === 'FORWARD') {
        forwardIndex += 1;
        if (enters.test(spec)) {
          forwardJumps.push(spec);
          jumpPositions.push(forwardIndex);
        }
      } else if (chain.startsWith(ours)) lines.push(line);
    }
  }
  return { chains, forwardJumps, lines, jumpPositions };
}

/** Our sets in `ipset save` output: names, the `create` lines without what the kernel varies, entries sorted. */
export type IpsetSaved = { readonly names: readonly string[]; readonly lines: readonly string[] };

export function parseIpsetSave(text: string, prefix: string): IpsetSaved {
  const ours = `${prefix}-`;
  const names: string[] = [], creates: string[] = [], adds: string[] = [];
  for (const line of text.split('\n')) {
    const [verb, name = ''] = line.split(' ', 2);
    if (!name.startsWith(ours)) continue;
    // hashsize grows with the set, initval is random per set, bucketsize is tuned by the kernel
    if (verb === 'create') {
      names.push(name);
      creates.push(line.replace(/ (hashsize|initval|bucketsize) \S+/g, ''));
    } else if (verb === 'add') adds.push(line);
  }
  return { names, lines: [...creates.sort(), ...adds.sort()] };
}

/**
 * A digest of everything of ours the kernel holds: both families' chains with their rules and the
 * positions of the FORWARD jumps, and our sets with their entries. Both sides of a drift check are kernel
 * read-backs, so iptables' normalisation (`-m tcp` added, `/32` kept, option order) is the same on both
 * and a clean load never looks drifted. Undefined when nothing of ours is there.
 */
export function fingerprintIptables(v4: IptSaved, v6: IptSaved, sets: IpsetSaved): string | undefined {
  if (v4.lines.length + v6.lines.length + v4.jumpPositions.length + v6.jumpPositions.length + sets.lines.length === 0) return undefined;
  const part = (family: string, s: IptSaved): string[] => [`# ${family} jumps ${s.jumpPositions.join(',')}`, ...s.lines];
  // which of a set's two names (generations.ts) is live says nothing about what is enforced
  const lines = [...part('v4', v4), ...part('v6', v6)].map(plannedNames).concat('# sets', sets.lines.map(plannedNames).sort());
  return sha256(lines.join('\n'));
}
