import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { restoreIpset, restoreIptables, traceIptables, type Packet, type Verdict } from '../../src/trace/index.js';

const ipsets = restoreIpset([
  'create ips hash:ip family inet maxelem 1048576 -exist', 'add ips 10.0.0.1',
  'create nets hash:net family inet maxelem 1048576 -exist', 'add nets 10.0.0.0/8', 'add nets 10.0.0.1 nomatch',
  'create pp hash:ip,port family inet maxelem 1048576 -exist', 'add pp 10.0.0.2,tcp:80',
  'create ips6 hash:ip family inet6 maxelem 1048576 -exist', 'add ips6 fd00::1', '',
].join('\n'));

/** Restore input declaring TOP, EG, IN and P, entering TOP from FORWARD, with the given rules (`-A ...` lines). */
const input = (...rules: string[]): string =>
  ['*filter', ':TOP - [0:0]', ':EG - [0:0]', ':IN - [0:0]', ':P - [0:0]', '-I FORWARD 1 -j TOP', ...rules, 'COMMIT', ''].join('\n');
const tcp = (src: string, dst: string, dport = 80): Packet => ({ src, dst, protocol: 'TCP', dport });
const udp = (src: string, dst: string, dport = 80): Packet => ({ src, dst, protocol: 'UDP', dport });
const A = '10.0.0.1', B = '10.0.0.2', C = '11.0.0.1';

const Verdicts = suite('traceIptables: verdicts');
const cases: Array<[name: string, text: string, packet: Packet, expected: Verdict]> = [
  ['falling off our top chain leaves the packet to FORWARD\'s policy', input(), tcp(A, B), 'allowed'],
  ['DROP is final', input('-A TOP -j DROP'), tcp(A, B), 'dropped'],
  ['RETURN goes back to the caller', input('-A TOP -j EG', '-A TOP -j DROP', '-A EG -j RETURN', '-A EG -j DROP'), tcp(A, B), 'dropped'],
  ['a jump comes back to the rule after it', input('-A TOP -j EG', '-A TOP -j IN', '-A EG -j P', '-A EG -j DROP', '-A P -j RETURN'), tcp(A, B), 'dropped'],
  ['a goto does not: the RETURN lands in the caller of the chain that went', input('-A TOP -j EG', '-A TOP -j IN', '-A EG -g P', '-A EG -j DROP', '-A P -j RETURN'), tcp(A, B), 'allowed'],
  ['after a goto the caller goes on with its next rule', input('-A TOP -j EG', '-A TOP -j IN', '-A EG -g P', '-A IN -j DROP', '-A P -j RETURN'), tcp(A, B), 'dropped'],
  ['ctstate RELATED,ESTABLISHED does not match a new packet', input('-A TOP -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', '-A TOP -j DROP'), tcp(A, B), 'dropped'],
  ['ctstate RELATED,ESTABLISHED matches a reply', input('-A TOP -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', '-A TOP -j DROP'), { ...tcp(B, A, 40000), ct: 'established' }, 'allowed'],
  ['-s matches the source address', input('-A TOP -s 10.0.0.1/32 -j DROP'), tcp(A, B), 'dropped'],
  ['-s does not match the destination', input('-A TOP -s 10.0.0.2/32 -j DROP'), tcp(A, B), 'allowed'],
  ['-d matches the destination address', input('-A TOP -d 10.0.0.2/32 -j DROP'), tcp(A, B), 'dropped'],
  ['-p tcp does not match UDP', input('-A TOP -p tcp -j RETURN', '-A TOP -j DROP'), udp(A, B), 'dropped'],
  ['--dport matches its port', input('-A TOP -p tcp -m tcp --dport 80 -j RETURN', '-A TOP -j DROP'), tcp(A, B, 80), 'allowed'],
  ['--dport range holds its last port', input('-A TOP -p udp -m udp --dport 81:85 -j RETURN', '-A TOP -j DROP'), udp(A, B, 85), 'allowed'],
  ['--dport range does not hold the port before it', input('-A TOP -p udp -m udp --dport 81:85 -j RETURN', '-A TOP -j DROP'), udp(A, B, 80), 'dropped'],
  ['multiport matches any listed port or range', input('-A TOP -p tcp -m multiport --dports 22,80:90,443 -j RETURN', '-A TOP -j DROP'), tcp(A, B, 85), 'allowed'],
  ['multiport does not match an unlisted port', input('-A TOP -p tcp -m multiport --dports 22,80:90,443 -j RETURN', '-A TOP -j DROP'), tcp(A, B, 91), 'dropped'],
  ['--match-set src matches a hash:ip member', input('-A TOP -m set --match-set ips src -j DROP'), tcp(A, B), 'dropped'],
  ['--match-set dst reads the destination', input('-A TOP -m set --match-set ips dst -j DROP'), tcp(A, B), 'allowed'],
  ['hash:net with a nomatch hole does not match the hole', input('-A TOP -m set --match-set nets src -j DROP'), tcp(A, B), 'allowed'],
  ['hash:net matches outside the hole', input('-A TOP -m set --match-set nets src -j DROP'), tcp(B, A), 'dropped'],
  ['hash:net does not match outside its network', input('-A TOP -m set --match-set nets src -j DROP'), tcp(C, A), 'allowed'],
  ['hash:ip,port dst,dst matches address, protocol and port', input('-A TOP -m set --match-set pp dst,dst -j DROP'), tcp(A, B, 80), 'dropped'],
  ['hash:ip,port dst,dst does not match another protocol', input('-A TOP -m set --match-set pp dst,dst -j DROP'), udp(A, B, 80), 'allowed'],
  ['all matches of a rule must hold', input('-A TOP -p tcp -m set --match-set ips src -m tcp --dport 81 -j DROP'), tcp(A, B, 80), 'allowed'],
];
for (const [name, text, packet, expected] of cases)
  Verdicts(`${name} -> ${expected}`, () => {
    const result = traceIptables(restoreIptables(text, 4, ipsets), ipsets, packet);
    assert.is(result.verdict, expected, result.steps.join('\n'));
  });

Verdicts('ip6tables: an IPv6 packet crosses the IPv6 table', () => {
  const table = restoreIptables(input('-A TOP -m set --match-set ips6 src -j DROP', '-A TOP -d fd00::2/128 -j DROP'), 6, ipsets);
  assert.is(traceIptables(table, ipsets, tcp('fd00::1', 'fd00::3')).verdict, 'dropped');
  assert.is(traceIptables(table, ipsets, tcp('fd00::9', 'fd00::3')).verdict, 'allowed');
  assert.throws(() => traceIptables(table, ipsets, tcp(A, B)), /does not cross the IPv6 table/);
});

Verdicts('the trace lists the rules the packet met, then the policy', () => {
  const table = restoreIptables(input('-A TOP -j EG', '-A EG -s 10.0.0.1/32 -g P', '-A P -j RETURN'), 4, ipsets);
  assert.equal(traceIptables(table, ipsets, tcp(A, B)).steps, ['-A FORWARD -j TOP', '-A TOP -j EG', '-A EG -s 10.0.0.1/32 -g P', '-A P -j RETURN', 'FORWARD: policy ACCEPT']);
});
Verdicts.run();

const Restore = suite('restoreIptables: --noflush semantics and what iptables-restore refuses');
Restore('a reload declares (flushes) our chains, deletes the old jump and inserts one, and removes a stale chain', () => {
  const first = restoreIptables(input('-A TOP -j DROP'), 4, ipsets);
  const second = restoreIptables(['*filter', ':TOP - [0:0]', ':P - [0:0]', ':EG - [0:0]', ':IN - [0:0]', '-D FORWARD -j TOP', '-I FORWARD 1 -j TOP', '-X P', 'COMMIT', ''].join('\n'), 4, ipsets, first);
  assert.equal(second.chains.get('FORWARD')!.rules.map((r) => r.spec), ['-j TOP']);
  assert.equal(second.chains.get('TOP')!.rules, []);
  assert.not.ok(second.chains.has('P'));
  assert.is(traceIptables(first, ipsets, tcp(A, B)).verdict, 'dropped', 'the table before is left as it was');
});
const refused: Array<[name: string, text: string, error: RegExp, family?: 4 | 6]> = [
  ['input without COMMIT', '*filter\n:TOP - [0:0]\n', /without COMMIT/],
  ['another table', '*nat\nCOMMIT\n', /must start with \*filter/],
  ['a rule in a chain never declared', '*filter\n-A NOPE -j DROP\nCOMMIT\n', /no chain NOPE/],
  ['a jump to a chain never declared', input('-A TOP -j NOPE'), /no chain NOPE/],
  ['a jump to a built-in chain', input('-A TOP -j FORWARD'), /built-in chain FORWARD/],
  ['declaring a built-in chain', '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', /not a line of our dialect/],
  ['an option outside our dialect', input('-A TOP -i eth0 -j DROP'), /"-i" is not an option/],
  ['-m tcp without -p tcp', input('-A TOP -m tcp --dport 80 -j DROP'), /not a match of our dialect here/],
  ['-m udp after -p tcp', input('-A TOP -p tcp -m udp --dport 80 -j DROP'), /not a match of our dialect here/],
  ['multiport with more than 15 slots', input(`-A TOP -p tcp -m multiport --dports ${Array.from({ length: 8 }, (_, i) => `${i * 10 + 1}:${i * 10 + 2}`).join(',')} -j DROP`), /takes 15 ports/],
  ['a set that does not exist', input('-A TOP -m set --match-set nope src -j DROP'), /set nope does not exist/],
  ['an IPv4 set in ip6tables', input('-A TOP -m set --match-set ips src -j DROP'), /family inet, not this table/, 6],
  ['a hash:ip,port set read in one direction', input('-A TOP -m set --match-set pp dst -j DROP'), /needs 2 directions/],
  ['a hash:ip set read in two directions', input('-A TOP -m set --match-set ips src,dst -j DROP'), /needs 1 directions/],
  ['an IPv4 address in ip6tables', input('-A TOP -s 10.0.0.1/32 -j DROP'), /not an IPv6 address/, 6],
  ['an address with host bits', input('-A TOP -s 10.0.0.1/8 -j DROP'), /host bits/],
  ['a rule without a target', input('-A TOP -s 10.0.0.1/32'), /no -j or -g/],
  ['anything after the target', input('-A TOP -j DROP -s 10.0.0.1/32'), /must end the rule/],
  ['a chain name longer than 28 characters', input(`-A TOP -j ${'C'.repeat(29)}`), /not a chain name/],
  ['deleting a rule that is not there', input('-D TOP -j DROP'), /no such rule/],
  ['deleting a chain still jumped to', input('-A TOP -j P', '-X P'), /still referenced from TOP/],
  ['inserting past the end', input('-I TOP 2 -j DROP'), /has 0 rules/],
];
for (const [name, text, error, family = 4] of refused)
  Restore(`refuses ${name}`, () => {
    assert.throws(() => restoreIptables(text, family, ipsets), (err: Error) => err.name === 'TraceError' && error.test(err.message));
  });
Restore.run();
