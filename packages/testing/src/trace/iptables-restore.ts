import type { Family } from '@knp/shared';
import { TraceError } from './packet.js';
import type { IpsetState } from './ipset.js';
import { IPT_CHAIN, parseIptRule, type IptRule } from './iptables-rule.js';

export type IptChain = { readonly name: string; readonly builtin: boolean; readonly rules: readonly IptRule[] };
/** One family's filter table: the built-in chains (policy ACCEPT, as on a node with no other firewall) and ours. */
export type IptTable = { readonly family: Family; readonly chains: ReadonlyMap<string, IptChain> };

const BUILTINS = ['INPUT', 'FORWARD', 'OUTPUT'];

/** A node's filter table before any load: the three built-in chains, empty. */
export function emptyFilterTable(family: Family): IptTable {
  return { family, chains: new Map(BUILTINS.map((name) => [name, { name, builtin: true, rules: [] }])) };
}

/**
 * Runs `iptables-restore --noflush` input of our dialect (`ip6tables-restore` for family 6) against `before`:
 * `*filter`; `:CHAIN - [0:0]` (create, or flush an existing chain); `-A`, `-I CHAIN N`, `-D` and `-X`; `COMMIT`.
 * As in libiptc, a jump target must exist when its rule is added and a set when its match is; the whole
 * input commits at once or not at all (a TraceError).
 */
export function restoreIptables(text: string, family: Family, ipsets: IpsetState, before: IptTable = emptyFilterTable(family)): IptTable {
  const chains = new Map([...before.chains].map(([name, chain]) => [name, { ...chain, rules: [...chain.rules] }]));
  const lines = text.split('\n');
  let committed = false;
  for (const [i, line] of lines.entries()) {
    const where = `iptables line ${i + 1}`;
    const fail = (why: string): never => {
      throw new TraceError(`${where}: ${why}: ${line}`);
    };
    if (line === '') continue;
    if (committed) fail('nothing may follow COMMIT');
    if (i === 0 || line === '*filter') {
      if (i !== 0 || line !== '*filter') fail('the input must start with *filter and hold no other table');
      continue;
    }
    if (line === 'COMMIT') {
      committed = true;
      continue;
    }
    const chainOf = (name: string): { name: string; builtin: boolean; rules: IptRule[] } => chains.get(name) ?? fail(`no chain ${name}`);
    const rule = (spec: string): IptRule => {
      const parsed = parseIptRule(spec, family, ipsets, where);
      if (parsed.target.kind === 'jump' || parsed.target.kind === 'goto') {
        const target = chainOf(parsed.target.chain);
        if (target.builtin) fail(`cannot jump to built-in chain ${target.name}`);
      }
      return parsed;
    };
    const declared = /^:(\S+) - \[0:0\]$/.exec(line);
    const [command = '', name = '', ...rest] = line.split(' ');
    if (declared) {
      const chain = declared[1]!;
      if (!IPT_CHAIN.test(chain) || BUILTINS.includes(chain)) fail(`${chain} is not a chain of ours to declare`);
      chains.set(chain, { name: chain, builtin: false, rules: [] });
    } else if (command === '-A' && rest.length > 0) chainOf(name).rules.push(rule(rest.join(' ')));
    else if (command === '-I' && /^[1-9]\d*$/.test(rest[0] ?? '') && rest.length > 1) {
      const rules = chainOf(name).rules, at = Number(rest[0]);
      if (at > rules.length + 1) fail(`chain ${name} has ${rules.length} rules`);
      rules.splice(at - 1, 0, rule(rest.slice(1).join(' ')));
    } else if (command === '-D' && rest.length > 0) {
      const rules = chainOf(name).rules, spec = rest.join(' '), at = rules.findIndex((r) => r.spec === spec);
      if (at < 0) fail(`chain ${name} holds no such rule`);
      rules.splice(at, 1);
    } else if (command === '-X' && rest.length === 0) {
      const chain = chainOf(name);
      if (chain.builtin || chain.rules.length > 0) fail(`chain ${name} is built in or not empty`);
      const referrer = [...chains.values()].find((c) => c.rules.some((r) => 'chain' in r.target && r.target.chain === name));
      if (referrer) fail(`chain ${name} is still referenced from ${referrer.name}`);
      chains.delete(name);
    } else fail('not a line of our dialect');
  }
  if (!committed) throw new TraceError('iptables: the input ends without COMMIT');
  return { family, chains };
}
