import { assertNever, type Family } from '@knp/shared';
import { TraceError } from './packet.js';
import type { NftTable } from './nft-load.js';
import type { NftMatch, NftVerdict } from './nft-rule.js';
import type { NftKeyType } from './nft-set.js';

const ADDR: Readonly<Record<Family, NftKeyType>> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };

/**
 * What nft checks when it commits a table: every `@set` names a set (or, for `vmap`, a verdict map) whose
 * key type fits the expression looking it up ("datatype mismatch"), and every jump, goto and map verdict
 * names a regular chain of the table (a base chain cannot be jumped to).
 */
export function checkNftTable(table: NftTable): void {
  const where = (chain: string, rule: number): string => `nft table ${table.name} chain ${chain} rule ${rule + 1}`;
  for (const chain of table.chains.values())
    for (const [r, rule] of chain.rules.entries()) {
      for (const match of rule.matches) {
        const wanted = keyOf(match);
        if (wanted) checkLookup(table, wanted.set, wanted.key, false, where(chain.name, r));
      }
      if (rule.action.kind === 'vmap') checkLookup(table, rule.action.map, [ADDR[rule.action.family]], true, where(chain.name, r));
      else checkTarget(table, rule.action.verdict, where(chain.name, r));
    }
  for (const set of table.sets.values())
    for (const element of set.elements) if (element.verdict) checkTarget(table, element.verdict, `nft table ${table.name} map ${set.name}`);
}

function keyOf(match: NftMatch): { set: string; key: readonly NftKeyType[] } | undefined {
  switch (match.kind) {
    case 'addr-in-set':
      return { set: match.set, key: [ADDR[match.family]] };
    case 'addr-proto-port-in-set':
      return { set: match.set, key: [ADDR[match.family], 'inet_proto', 'inet_service'] };
    case 'dport-in-set':
      return { set: match.set, key: ['inet_service'] };
    case 'ct-state':
    case 'icmpv6-type':
    case 'l4proto':
    case 'dport':
      return undefined;
    default:
      return assertNever(match);
  }
}

function checkLookup(table: NftTable, name: string, key: readonly NftKeyType[], map: boolean, where: string): void {
  const set = table.sets.get(name);
  if (!set) throw new TraceError(`${where}: no ${map ? 'map' : 'set'} ${name}`);
  if (set.map !== map) throw new TraceError(`${where}: ${name} is ${set.map ? 'a map' : 'a set'}, not ${map ? 'a verdict map' : 'a set'}`);
  if (set.key.join(' . ') !== key.join(' . ')) throw new TraceError(`${where}: datatype mismatch: ${name} holds ${set.key.join(' . ')}, the rule looks up ${key.join(' . ')}`);
}

function checkTarget(table: NftTable, verdict: NftVerdict, where: string): void {
  if (verdict.kind !== 'jump' && verdict.kind !== 'goto') return;
  const target = table.chains.get(verdict.chain);
  if (!target) throw new TraceError(`${where}: ${verdict.kind} to ${verdict.chain}: no such chain`);
  if (target.hook) throw new TraceError(`${where}: ${verdict.kind} to base chain ${verdict.chain}`);
}
