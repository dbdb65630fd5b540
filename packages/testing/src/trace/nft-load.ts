import { TraceError } from './packet.js';
import { NFT_NAME, parseNftRule, type NftRule } from './nft-rule.js';
import { parseElements, parseSetType, type NftSet } from './nft-set.js';
import { checkNftTable } from './nft-check.js';

/**
 * A base chain's hook: `filter` on `forward` (pod traffic crossing the node) or `input` (a local pod's
 * traffic to the node itself) in our dialect; the priority orders the base chains of one hook.
 */
export type NftHook = { readonly hook: 'forward' | 'input'; readonly priority: number; readonly policy: 'accept' | 'drop' };
export type NftChain = { readonly name: string; readonly hook?: NftHook; readonly rules: readonly NftRule[] };
export type NftTable = { readonly name: string; readonly sets: ReadonlyMap<string, NftSet>; readonly chains: ReadonlyMap<string, NftChain> };
/** The `inet` tables a node holds, by name: what a script loads into and what a packet is traced through. */
export type NftRuleset = ReadonlyMap<string, NftTable>;

const HOOK = /^type filter hook (forward|input) priority (filter|filter [+-] \d+|-?\d+); policy (accept|drop);$/;
const CHAIN_COMMENT = /^comment "[^"\\]*"$/;

/**
 * Loads an `nft -f` script of our dialect into `before` (an empty node by default) as one transaction:
 * the new ruleset, or a TraceError and nothing changed. Statements: `table inet T {}` (declare),
 * `delete table inet T` (the table must exist), `table inet T { sets, maps and chains }`.
 */
export function loadNft(script: string, before: NftRuleset = new Map()): NftRuleset {
  const tables = new Map(before), lines = new ScriptLines(script);
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const [, verb = '', name = '', body = ''] = /^(table|delete table) inet (\S+)( \{\}| \{)?$/.exec(line) ?? [];
    if (!NFT_NAME.test(name)) throw new TraceError(`${lines.where()}: not a table statement of our dialect: ${line}`);
    const empty: NftTable = { name, sets: new Map(), chains: new Map() };
    if (verb === 'delete table' && body === '') {
      if (!tables.delete(name)) throw new TraceError(`${lines.where()}: delete table inet ${name}: no such table`);
    } else if (verb === 'table' && body === ' {}') tables.set(name, tables.get(name) ?? empty);
    else if (verb === 'table' && body === ' {') tables.set(name, parseTable(tables.get(name) ?? empty, lines));
    else throw new TraceError(`${lines.where()}: not a table statement of our dialect: ${line}`);
  }
  for (const table of tables.values()) checkNftTable(table);
  return tables;
}

/** The script's non-blank lines, trimmed (indentation carries no meaning), with the line number for errors. */
class ScriptLines {
  private readonly lines: readonly string[];
  private at = 0;
  constructor(script: string) {
    this.lines = script.split('\n');
  }
  next(): string | undefined {
    while (this.at < this.lines.length) {
      const line = this.lines[this.at++]!.trim();
      if (line !== '') return line;
    }
    return undefined;
  }
  must(inside: string): string {
    const line = this.next();
    if (line === undefined) throw new TraceError(`nft: the script ends inside ${inside}`);
    return line;
  }
  where(): string {
    return `nft line ${this.at}`;
  }
}

function parseTable(base: NftTable, lines: ScriptLines): NftTable {
  const sets = new Map(base.sets), chains = new Map(base.chains);
  for (let line = lines.must(`table ${base.name}`); line !== '}'; line = lines.must(`table ${base.name}`)) {
    const [, kind = '', name = ''] = /^(set|map|chain) (\S+) \{$/.exec(line) ?? [];
    if (!NFT_NAME.test(name)) throw new TraceError(`${lines.where()}: not a set, map or chain of our dialect: ${line}`);
    const seen = kind === 'chain' ? chains : sets;
    if (seen.has(name)) throw new TraceError(`${lines.where()}: ${kind} ${name} is declared twice`);
    if (kind === 'chain') chains.set(name, parseChain(name, lines));
    else sets.set(name, parseSet(name, kind === 'map', lines));
  }
  return { name: base.name, sets, chains };
}

/** `type` first, then optionally `flags interval`, then optionally `elements = { ... }` over one or more lines. */
function parseSet(name: string, map: boolean, lines: ScriptLines): NftSet {
  const first = lines.must(`set ${name}`);
  if (!first.startsWith('type ')) throw new TraceError(`${lines.where()}: set ${name} must start with its type: ${first}`);
  const header = { name, map, key: parseSetType(first.slice('type '.length), map, lines.where()), interval: false };
  let line = lines.must(`set ${name}`);
  if (line === 'flags interval') {
    header.interval = true;
    line = lines.must(`set ${name}`);
  }
  let items: string[] = [];
  if (line.startsWith('elements = {')) {
    while (!line.endsWith('}')) line = `${line} ${lines.must(`the elements of ${name}`)}`;
    const [, list = ''] = /^elements = \{ (.+) \}$/.exec(line) ?? [];
    items = list.split(',').map((item) => item.trim());
    if (items.includes('')) throw new TraceError(`${lines.where()}: set ${name} has an empty element: ${line}`);
    line = lines.must(`set ${name}`);
  }
  if (line !== '}') throw new TraceError(`${lines.where()}: not part of a set of our dialect: ${line}`);
  return { ...header, elements: parseElements(items, header, `${lines.where()} (${map ? 'map' : 'set'} ${name})`) };
}

/** The hook line (base chains only) and a comment line may come first, in that order; then one rule a line. */
function parseChain(name: string, lines: ScriptLines): NftChain {
  let hook: NftHook | undefined, commented = false;
  const rules: NftRule[] = [];
  for (let line = lines.must(`chain ${name}`); line !== '}'; line = lines.must(`chain ${name}`)) {
    const hookMatch = HOOK.exec(line);
    if (hookMatch && hook === undefined && !commented && rules.length === 0)
      hook = { hook: hookMatch[1] as NftHook['hook'], priority: priorityOf(hookMatch[2]!), policy: hookMatch[3] as NftHook['policy'] };
    else if (line.startsWith('type ')) throw new TraceError(`${lines.where()}: chain ${name}: not a base chain of our dialect (filter, forward or input): ${line}`);
    else if (CHAIN_COMMENT.test(line) && !commented && rules.length === 0) commented = true;
    else rules.push(parseNftRule(line, `${lines.where()} (chain ${name})`));
  }
  return hook ? { name, hook, rules } : { name, rules };
}

/** `filter` is 0; `filter + 1` is 1. */
function priorityOf(text: string): number {
  const [base, sign, offset] = text.split(' ');
  if (base !== 'filter') return Number(base);
  return sign === undefined ? 0 : sign === '+' ? Number(offset) : -Number(offset);
}
