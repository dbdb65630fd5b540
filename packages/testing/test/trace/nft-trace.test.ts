import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNft, traceNft, type Packet, type Verdict } from '../../src/trace/index.js';

/** A table `t` with one set block and two forward-hook base chains: `eg` (priority filter), `in` (filter + 1). */
const table = (parts: { sets?: string; eg?: string; in?: string; chains?: string }): string => `table inet t {}
delete table inet t
table inet t {
${parts.sets ?? ''}
	chain eg {
		type filter hook forward priority filter; policy accept;
		comment "egress"
${parts.eg ?? ''}
	}
	chain in {
		type filter hook forward priority filter + 1; policy accept;
${parts.in ?? ''}
	}
${parts.chains ?? ''}
}
`;
// an empty table is declared first, as the renderer does, so the delete always finds it
const before = loadNft('table inet t {}\n');

const tcp = (src: string, dst: string, dport = 80): Packet => ({ src, dst, protocol: 'TCP', dport });
const udp = (src: string, dst: string, dport = 80): Packet => ({ src, dst, protocol: 'UDP', dport });
const A = '10.0.0.1', B = '10.0.0.2', C = '10.0.0.3';

const Verdicts = suite('traceNft: verdicts');
const cases: Array<[name: string, script: string, packet: Packet, expected: Verdict]> = [
  ['no rules: both base chains accept by policy', table({}), tcp(A, B), 'allowed'],
  ['accept in the first base chain does not skip the second, whose drop is final', table({ eg: 'accept', in: 'drop' }), tcp(A, B), 'dropped'],
  ['drop in the first base chain is final', table({ eg: 'drop', in: 'accept' }), tcp(A, B), 'dropped'],
  ['base chains run by priority, not by the order written', table({ eg: 'drop' }).replace('priority filter;', 'priority filter + 2;'), tcp(A, B), 'dropped'],
  ['a policy drop drops what falls off the chain', table({}).replace('filter + 1; policy accept', 'filter + 1; policy drop'), tcp(A, B), 'dropped'],
  ['ct state established,related does not match a new packet', table({ in: 'ct state established,related accept\ndrop' }), tcp(A, B), 'dropped'],
  ['ct state new matches a new packet', table({ in: 'ct state new accept\ndrop' }), tcp(A, B), 'allowed'],
  ['ct state established,related matches a reply', table({ in: 'ct state established,related accept\ndrop' }), { ...tcp(B, A, 40000), ct: 'established' }, 'allowed'],
  ['ct state established,related matches a related packet', table({ in: 'ct state established,related accept\ndrop' }), { ...tcp(B, A), ct: 'related' }, 'allowed'],
  ['a jump returns to the rule after it', table({ in: 'jump c\ndrop', chains: 'chain c {\n}' }), tcp(A, B), 'dropped'],
  ['an accept inside a jumped-to chain ends the base chain', table({ in: 'jump c\ndrop', chains: 'chain c {\naccept\n}' }), tcp(A, B), 'allowed'],
  ['return goes back to the caller', table({ in: 'jump c\ndrop', chains: 'chain c {\nreturn\naccept\n}' }), tcp(A, B), 'dropped'],
  ['a goto does not come back: its chain returns to the caller of the chain that went', table({ in: 'jump c\naccept', chains: 'chain c {\ngoto d\ndrop\n}\nchain d {\n}' }), tcp(A, B), 'allowed'],
  ['a vmap jumps by source address', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.1 : jump c }\n}', eg: 'ip saddr vmap @m', chains: 'chain c {\ndrop\n}' }), tcp(A, B), 'dropped'],
  ['a vmap without the address goes on to the next rule', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.3 : jump c }\n}', eg: 'ip saddr vmap @m', chains: 'chain c {\ndrop\n}' }), tcp(A, B), 'allowed'],
  ['a vmap on daddr looks up the destination', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.1 : drop,\n10.0.0.2 : accept }\n}', in: 'ip daddr vmap @m\ndrop' }), tcp(A, B), 'allowed'],
  ['an empty map matches nothing', table({ sets: 'map m {\ntype ipv4_addr : verdict\n}', in: 'ip daddr vmap @m\naccept' }), tcp(A, B), 'allowed'],
  ['ip saddr @set matches a member', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.1,\n10.0.0.9 }\n}', in: 'ip saddr @s accept\ndrop' }), tcp(A, B), 'allowed'],
  ['ip saddr @set does not match a non-member', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.9 }\n}', in: 'ip saddr @s accept\ndrop' }), tcp(A, B), 'dropped'],
  ['saddr and daddr are not the same field', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.1 }\n}', in: 'ip daddr @s accept\ndrop' }), tcp(A, B), 'dropped'],
  ['an interval set holds its ranges', table({ sets: 'set s {\ntype ipv4_addr\nflags interval\nelements = { 10.0.0.0-10.0.0.1, 10.0.0.3-10.255.255.255 }\n}', in: 'ip saddr @s accept\ndrop' }), tcp(A, B), 'allowed'],
  ['an interval set has holes between its ranges', table({ sets: 'set s {\ntype ipv4_addr\nflags interval\nelements = { 10.0.0.0-10.0.0.1, 10.0.0.3-10.255.255.255 }\n}', in: 'ip saddr @s accept\ndrop' }), tcp(B, A), 'dropped'],
  ['meta l4proto tcp matches every TCP port', table({ in: 'meta l4proto tcp accept\ndrop' }), tcp(A, B, 65535), 'allowed'],
  ['meta l4proto tcp does not match UDP', table({ in: 'meta l4proto tcp accept\ndrop' }), udp(A, B), 'dropped'],
  ['tcp dport 80 matches TCP 80', table({ in: 'tcp dport 80 accept\ndrop' }), tcp(A, B, 80), 'allowed'],
  ['tcp dport 80 does not match UDP 80', table({ in: 'tcp dport 80 accept\ndrop' }), udp(A, B, 80), 'dropped'],
  ['tcp dport 1000-2000 holds its last port', table({ in: 'tcp dport 1000-2000 accept\ndrop' }), tcp(A, B, 2000), 'allowed'],
  ['tcp dport 1000-2000 does not hold the port after it', table({ in: 'tcp dport 1000-2000 accept\ndrop' }), tcp(A, B, 2001), 'dropped'],
  ['tcp dport @set matches a port in the set', table({ sets: 'set p {\ntype inet_service\nflags interval\nelements = { 80, 90-99 }\n}', in: 'tcp dport @p accept\ndrop' }), tcp(A, B, 95), 'allowed'],
  ['tcp dport @set does not match a port outside it', table({ sets: 'set p {\ntype inet_service\nflags interval\nelements = { 80, 90-99 }\n}', in: 'tcp dport @p accept\ndrop' }), tcp(A, B, 81), 'dropped'],
  ['all matches of a rule must hold', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.1 }\n}', in: 'ip saddr @s udp dport 80 accept\ndrop' }), tcp(A, B), 'dropped'],
  ['an address . protocol . port set matches all three', table({ sets: 'set s {\ntype ipv4_addr . inet_proto . inet_service\nelements = { 10.0.0.2 . tcp . 80 }\n}', eg: 'ip daddr . meta l4proto . th dport @s accept\ndrop' }), tcp(A, B, 80), 'allowed'],
  ['an address . protocol . port set does not match another protocol', table({ sets: 'set s {\ntype ipv4_addr . inet_proto . inet_service\nelements = { 10.0.0.2 . tcp . 80 }\n}', eg: 'ip daddr . meta l4proto . th dport @s accept\ndrop' }), udp(A, B, 80), 'dropped'],
  ['an address . protocol . port set does not match another port', table({ sets: 'set s {\ntype ipv4_addr . inet_proto . inet_service\nelements = { 10.0.0.2 . tcp . 80 }\n}', eg: 'ip daddr . meta l4proto . th dport @s accept\ndrop' }), tcp(A, C, 80), 'dropped'],
  ['ip6 saddr @set matches an IPv6 member', table({ sets: 'set s6 {\ntype ipv6_addr\nelements = { fd00::1 }\n}', in: 'ip6 saddr @s6 accept\ndrop' }), tcp('fd00::1', 'fd00::2'), 'allowed'],
  ['an ip match never matches an IPv6 packet', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.1 : drop }\n}', in: 'ip saddr vmap @m' }), tcp('fd00::1', 'fd00::2'), 'allowed'],
  ['a comment after a verdict is only a comment', table({ in: 'drop comment "isolated by x/deny"' }), tcp(A, B), 'dropped'],
];
for (const [name, script, packet, expected] of cases)
  Verdicts(`${name} -> ${expected}`, () => {
    const result = traceNft(loadNft(script, before), packet);
    assert.is(result.verdict, expected, result.steps.join('\n'));
  });

Verdicts('the trace names each base chain and the rules the packet met', () => {
  const script = table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.2 : jump c }\n}', in: 'ip daddr vmap @m', chains: 'chain c {\ndrop comment "x"\n}' });
  assert.equal(traceNft(loadNft(script, before), tcp(A, B)).steps, [
    't eg (forward hook, priority 0)', 'eg: policy accept',
    't in (forward hook, priority 1)', 'in: ip daddr vmap @m -> 10.0.0.2 : jump c', 'c: drop comment "x"',
  ]);
});
Verdicts.run();

const Strict = suite('loadNft: anything outside our dialect, or what nft would refuse, is an error');
const refused: Array<[name: string, script: string, error: RegExp]> = [
  ['an unknown statement', table({ in: 'counter accept' }), /not a match or verdict/],
  ['an address literal (we only match sets)', table({ in: 'ip saddr 10.0.0.1 accept' }), /not a @set reference/],
  ['a rule without a verdict', table({ in: 'tcp dport 80' }), /no verdict/],
  ['anything after the verdict', table({ in: 'accept drop' }), /not a match or verdict/],
  ['a comment in the middle of a rule', table({ in: 'comment "x" accept' }), /a comment may only end a rule/],
  ['a hook other than forward or input', table({}).replace('hook forward priority filter;', 'hook output priority filter;'), /not a base chain of our dialect/],
  ['a set member in non-canonical form', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.01 }\n}' }), /canonical/],
  ['an IPv6 member in an IPv4 set', table({ sets: 'set s {\ntype ipv4_addr\nelements = { fd00::1 }\n}' }), /not an IPv4 address/],
  ['a range in a set without flags interval', table({ sets: 'set s {\ntype ipv4_addr\nelements = { 10.0.0.1-10.0.0.5 }\n}' }), /needs "flags interval"/],
  ['overlapping intervals', table({ sets: 'set s {\ntype inet_service\nflags interval\nelements = { 80-90, 85 }\n}' }), /conflicting intervals/],
  ['a map key given two verdicts', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.1 : accept, 10.0.0.1 : drop }\n}' }), /map key given twice/],
  ['a lookup in a set of another type', table({ sets: 'set p {\ntype inet_service\nelements = { 80 }\n}', in: 'ip saddr @p accept' }), /datatype mismatch/],
  ['a vmap over a plain set', table({ sets: 'set s {\ntype ipv4_addr\n}', in: 'ip saddr vmap @s' }), /not a verdict map/],
  ['a lookup in a set that does not exist', table({ in: 'ip saddr @nope accept' }), /no set nope/],
  ['a jump to a chain that does not exist', table({ in: 'jump nope' }), /no such chain/],
  ['a jump to a base chain', table({ eg: 'jump in' }), /jump to base chain in/],
  ['a map verdict naming a chain that does not exist', table({ sets: 'map m {\ntype ipv4_addr : verdict\nelements = { 10.0.0.1 : jump nope }\n}' }), /no such chain/],
  ['a chain declared twice', table({ chains: 'chain c {\n}\nchain c {\n}' }), /declared twice/],
  ['a table that is never closed', 'table inet t {\n\tchain c {\n\t}\n', /ends inside table t/],
  ['a table of another family', 'table ip t {}\n', /not a table statement/],
];
for (const [name, script, error] of refused)
  Strict(`refuses ${name}`, () => {
    assert.throws(() => loadNft(script, before), (err: Error) => err.name === 'TraceError' && error.test(err.message));
  });

Strict('deleting a table that is not there fails, as nft does', () => {
  assert.throws(() => loadNft('delete table inet t\n'), /no such table/);
});
Strict('a failed load changes nothing: the loader returns a new ruleset or throws', () => {
  const loaded = loadNft(table({ in: 'drop' }), before);
  assert.throws(() => loadNft('delete table inet t\ntable inet t {\nchain c {\njump nope\n}\n}\n', loaded));
  assert.is(traceNft(loaded, tcp(A, B)).verdict, 'dropped');
});
Strict('a jump loop is an error when traced', () => {
  const loaded = loadNft(table({ in: 'jump c', chains: 'chain c {\njump d\n}\nchain d {\njump c\n}' }), before);
  assert.throws(() => traceNft(loaded, tcp(A, B)), /jumps deep/);
});
Strict.run();
