import { assertNever } from '@knp/shared';
import { TraceError, type Packet, type Probe, type TraceResult } from './packet.js';
import { inSpan, probeOf } from './values.js';
import { ipsetTest, type IpsetState } from './ipset.js';
import type { IptChain, IptTable } from './iptables-restore.js';
import type { IptMatch } from './iptables-rule.js';

/** Deeper than this is a loop, which iptables would refuse to commit (ELOOP). */
const MAX_DEPTH = 32;

/** How a chain ended: DROP (final), or back to where the packet came from (RETURN, or no rule left). */
type Outcome = 'drop' | 'return';

/**
 * Traces a packet through the filter table's FORWARD chain of its family. A jump returns to the rule
 * after it; a goto (`-g`) replaces the current chain, so the RETURN of the chain gone to lands in the
 * caller of the chain that did the goto. A packet leaving FORWARD meets its policy (ACCEPT on an empty
 * node): allowed, meaning not dropped by our rules.
 */
export function traceIptables(table: IptTable, ipsets: IpsetState, packet: Packet): TraceResult {
  const probe = probeOf(packet), steps: string[] = [];
  if (probe.family !== table.family) throw new TraceError(`an IPv${probe.family} packet does not cross the IPv${table.family} table`);
  const outcome = runChain(table, ipsets, table.chains.get('FORWARD')!, probe, steps, 0);
  if (outcome === 'drop') return { verdict: 'dropped', steps };
  steps.push('FORWARD: policy ACCEPT');
  return { verdict: 'allowed', steps };
}

function runChain(table: IptTable, ipsets: IpsetState, chain: IptChain, probe: Probe, steps: string[], depth: number): Outcome {
  if (depth > MAX_DEPTH) throw new TraceError(`iptables: chain ${chain.name} is ${depth} jumps deep (a loop?)`);
  for (const rule of chain.rules) {
    if (!rule.matches.every((match) => matches(ipsets, match, probe))) continue;
    steps.push(`-A ${chain.name} ${rule.spec}`);
    const target = rule.target;
    switch (target.kind) {
      case 'DROP':
        return 'drop';
      case 'RETURN':
        return 'return';
      case 'jump':
      case 'goto': {
        const outcome = runChain(table, ipsets, table.chains.get(target.chain)!, probe, steps, depth + 1);
        if (outcome === 'drop' || target.kind === 'goto') return outcome;
        break;
      }
      default:
        return assertNever(target);
    }
  }
  return 'return';
}

function matches(ipsets: IpsetState, match: IptMatch, probe: Probe): boolean {
  switch (match.kind) {
    case 'addr':
      return inSpan(match.field === 'src' ? probe.src : probe.dst, match.span);
    case 'proto':
      return probe.proto === match.proto;
    case 'dport':
      return match.ranges.some((range) => inSpan(BigInt(probe.dport), range));
    case 'set': {
      const set = ipsets.get(match.set);
      if (!set) throw new TraceError(`iptables: set ${match.set} is gone`);
      return ipsetTest(set, probe, match.directions);
    }
    case 'ctstate':
      return match.states.includes(probe.ct.toUpperCase());
    case 'icmpv6-type':
      return false;
    default:
      return assertNever(match);
  }
}
