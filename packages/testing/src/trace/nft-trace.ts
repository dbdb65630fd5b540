import { assertNever } from '@knp/shared';
import { PROTO_NUMBER, TraceError, type Packet, type Probe, type TraceResult } from './packet.js';
import { inSpan, probeOf } from './values.js';
import type { NftChain, NftRuleset, NftTable } from './nft-load.js';
import type { AddrField, NftMatch, NftVerdict } from './nft-rule.js';
import { lookupElement, type NftSet } from './nft-set.js';

/** nft's jump stack (NFT_JUMP_STACK_SIZE): deeper means a loop, which nft would refuse to load. */
const MAX_DEPTH = 16;

/** How a chain ended: a final verdict, or back to its caller (a `return`, or no rule left). */
type Outcome = 'accept' | 'drop' | 'continue';

/**
 * Traces a packet through every base chain on the forward hook, lowest priority first (the tracer's
 * packets go from pod to pod; chains on input are loaded and checked, not traced). An `accept`
 * ends only the base chain it happens in and the packet meets the next one; a `drop` is final; a base
 * chain the packet falls off applies its policy.
 */
export function traceNft(ruleset: NftRuleset, packet: Packet): TraceResult {
  const probe = probeOf(packet), steps: string[] = [];
  const bases = [...ruleset.values()]
    .flatMap((table) => [...table.chains.values()].filter((chain) => chain.hook?.hook === 'forward').map((chain) => ({ table, chain, hook: chain.hook! })))
    .sort((a, b) => a.hook.priority - b.hook.priority);
  for (const { table, chain, hook } of bases) {
    steps.push(`${table.name} ${chain.name} (forward hook, priority ${hook.priority})`);
    const outcome = runChain(table, chain, probe, steps, 0);
    if (outcome === 'continue') steps.push(`${chain.name}: policy ${hook.policy}`);
    if ((outcome === 'continue' ? hook.policy : outcome) === 'drop') return { verdict: 'dropped', steps };
  }
  return { verdict: 'allowed', steps };
}

function runChain(table: NftTable, chain: NftChain, probe: Probe, steps: string[], depth: number): Outcome {
  if (depth > MAX_DEPTH) throw new TraceError(`nft table ${table.name}: chain ${chain.name} is ${depth} jumps deep (a loop?)`);
  for (const rule of chain.rules) {
    if (!rule.matches.every((match) => matches(table, match, probe))) continue;
    let verdict: NftVerdict;
    if (rule.action.kind === 'vmap') {
      if (rule.action.family !== probe.family) continue;
      const element = lookupElement(setOf(table, rule.action.map), [addressOf(probe, rule.action.field)]);
      if (!element?.verdict) continue;
      steps.push(`${chain.name}: ${rule.text} -> ${element.text}`);
      verdict = element.verdict;
    } else {
      steps.push(`${chain.name}: ${rule.text}`);
      verdict = rule.action.verdict;
    }
    switch (verdict.kind) {
      case 'accept':
      case 'drop':
        return verdict.kind;
      case 'return':
        return 'continue';
      case 'jump':
      case 'goto': {
        const outcome = runChain(table, table.chains.get(verdict.chain)!, probe, steps, depth + 1);
        // after a goto the packet does not come back here but to this chain's caller
        if (outcome !== 'continue' || verdict.kind === 'goto') return outcome;
        break;
      }
      default:
        return assertNever(verdict);
    }
  }
  return 'continue';
}

function matches(table: NftTable, match: NftMatch, probe: Probe): boolean {
  switch (match.kind) {
    case 'ct-state':
      return match.states.includes(probe.ct);
    case 'addr-in-set':
      return probe.family === match.family && lookupElement(setOf(table, match.set), [addressOf(probe, match.field)]) !== undefined;
    case 'addr-proto-port-in-set': {
      const key = [addressOf(probe, match.field), BigInt(PROTO_NUMBER[probe.proto]), BigInt(probe.dport)];
      return probe.family === match.family && lookupElement(setOf(table, match.set), key) !== undefined;
    }
    case 'l4proto':
      return probe.proto === match.proto;
    case 'dport':
      return probe.proto === match.proto && inSpan(BigInt(probe.dport), match.ports);
    case 'dport-in-set':
      return probe.proto === match.proto && lookupElement(setOf(table, match.set), [BigInt(probe.dport)]) !== undefined;
    case 'icmpv6-type':
      return false;
    default:
      return assertNever(match);
  }
}

const addressOf = (probe: Probe, field: AddrField): bigint => (field === 'saddr' ? probe.src : probe.dst);
// loadNft checked every reference, so a missing set here is a tracer bug
const setOf = (table: NftTable, name: string): NftSet => table.sets.get(name)!;
