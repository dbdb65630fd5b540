import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cidrContainsIp, parseCidr, subtractCidrs, type Cidr, type Family } from '@knp/shared';
import {
  fingerprintIptables,
  ipsetNetEntries,
  iptTopChain,
  iptInputChain,
  parseIpsetSave,
  parseIptablesSave,
  planIptables,
  printIptables,
  printNetEntry,
  renderIpset,
  renderIpsetDelta,
  renderIptables,
  RenderError,
  ipsetTempName,
  type NetEntry,
} from '../src/index.js';
import { cidrSet, localPod, peers, podPortsSet, podsSet, rule, ruleSet, tcp, udp } from '@knp/testing';
import { HOSTILE, hostileRuleSet, prng } from '@knp/testing';

const opts = { prefix: 'knp' };
const v4 = (rs: Parameters<typeof renderIptables>[0]): string[] => renderIptables(rs, { ...opts, family: 4 }).split('\n');
const cidr = (text: string): Cidr => parseCidr(text)!;
const entries = (c: string, except: string[] = []): string[] => ipsetNetEntries(cidr(c), except.map(cidr)).map(printNetEntry);

const Render = suite('renderIptables / renderIpset');

Render('declares only our chains, enters them by one jump inserted at the top of FORWARD, one COMMIT', () => {
  const out = v4(ruleSet({ pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: [] })] }));
  assert.is(out[0], '*filter');
  const declared = out.filter((l) => l.startsWith(':'));
  assert.ok(declared.length >= 3 && declared.every((l) => /^:KNP-[A-Z]+-[0-9A-F]{14} - \[0:0\]$/.test(l)), declared.join('\n'));
  assert.equal(out.filter((l) => l.includes('FORWARD')), [`-I FORWARD 1 -j ${iptTopChain('knp')}`]);
  assert.equal(out.filter((l) => l.includes('INPUT')), [`-I INPUT 1 -j ${iptInputChain('knp')}`]);
  assert.not.ok(out.some((l) => /KUBE-|-j ACCEPT|-P /.test(l)), 'no other prefix, no ACCEPT, no policy change');
  assert.equal(out.filter((l) => l === 'COMMIT').length, 1);
});

Render('established first, then the egress dispatch, then the ingress dispatch; only DROP is final', () => {
  const rs = ruleSet({
    sets: [podsSet('s', ['10.0.0.9'])],
    rules: [rule('r1', 'ingress', [peers(['s'], [tcp(80)])]), rule('e1', 'egress', [peers('any')])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r1'], egress: ['e1'] }), localPod({ name: 'x/open', ips: ['10.0.0.2'] })],
  });
  const plan = planIptables(rs, opts).tables[4];
  const [top, eg, ing, ...rest] = plan.chains;
  const pods = rest.slice(0, -1), input = rest.at(-1)!;
  assert.equal(top!.rules, ['-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', `-j ${eg!.name}`, `-j ${ing!.name}`]);
  assert.equal(input.name, plan.inputTop);
  assert.equal(input.rules, ['-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', `-j ${eg!.name}`], 'INPUT: the local pods\' egress to the node');
  const v6 = planIptables(rs, opts).tables[6].chains.at(-1)!;
  assert.equal(v6.rules.filter((r) => r.includes('ipv6-icmp')).length, 3, 'router and neighbour discovery to the pod\'s gateway always pass');
  assert.equal(eg!.rules.map((r) => r.split(' -g ')[0]), ['-s 10.0.0.1/32']);
  assert.equal(ing!.rules.map((r) => r.split(' -g ')[0]), ['-d 10.0.0.1/32'], 'the non-isolated pod has no rule');
  for (const chain of pods) assert.is(chain.rules.at(-1), '-j DROP');
  const allow = pods.flatMap((c) => c.rules.slice(0, -1));
  assert.ok(allow.length === 2 && allow.every((r) => /(^| )-j RETURN$/.test(r)), allow.join('\n'));
  assert.ok(allow.some((r) => r === '-j RETURN'), 'egress to any peer on any port is a bare RETURN');
});

Render('pods with the same rules share one dispatch chain', () => {
  const rs = ruleSet({ rules: [rule('r1', 'ingress', [peers('any', [tcp(80)])])], pods: ['a', 'b', 'c'].map((n, i) => localPod({ name: `x/${n}`, ips: [`10.0.0.${i + 1}`], ingress: ['r1'] })) });
  const ing = planIptables(rs, opts).tables[4].chains[2]!;
  assert.is(new Set(ing.rules.map((r) => r.split(' -g ')[1])).size, 1);
  assert.is(ing.rules.length, 3);
});

Render('ports: one port, a range, all ports of a protocol, and multiport chunks of at most 15 slots', () => {
  const many = Array.from({ length: 20 }, (_, i) => tcp(1000 + 2 * i));
  const rs = ruleSet({
    rules: [rule('r', 'ingress', [peers('any', [tcp(80), udp(1000, 2000)]), peers('any', [udp()]), peers('any', many)])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r'] })],
  });
  const chain = planIptables(rs, opts).tables[4].chains[3]!.rules;
  assert.ok(chain.includes('-p tcp -m tcp --dport 80 -j RETURN'));
  assert.ok(chain.includes('-p udp -m udp --dport 1000:2000 -j RETURN'));
  assert.ok(chain.includes('-p udp -j RETURN'));
  const multi = chain.filter((r) => r.includes('multiport'));
  assert.is(multi.length, 2);
  assert.is(multi[0]!.split('--dports ')[1]!.split(' ')[0]!.split(',').length, 15);
});

Render('families: IPv6 pods and sets go to ip6tables and inet6 sets; an IPv4 ipBlock is absent from ip6tables', () => {
  const rs = ruleSet({
    sets: [podsSet('s', ['10.0.0.9', 'fd00::9']), cidrSet('b', '192.168.0.0/16')],
    rules: [rule('r', 'ingress', [peers(['s', 'b'])])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1', 'fd00::1'], ingress: ['r'] })],
  });
  const plan = planIptables(rs, opts);
  assert.equal(plan.families, [4, 6]);
  assert.equal(plan.sets.map((s) => `${s.type}/${s.family}/${s.entries.join(',')}`), ['hash:ip/4/10.0.0.9', 'hash:ip/6/fd00::9', 'hash:net/4/192.168.0.0/16']);
  const six = renderIptables(rs, { ...opts, family: 6 });
  assert.match(six, '-d fd00::1/128 -g');
  assert.is(six.match(/--match-set/g)?.length, 1, 'only the IPv6 pod set');
  assert.ok(renderIpset(rs, opts).includes('family inet6'));
});

Render('pod-ports sets are hash:ip,port entries matched as peer address and destination port', () => {
  const rs = ruleSet({
    sets: [podPortsSet('pp', [{ ip: '10.0.0.5', protocol: 'TCP', port: 8080 }, { ip: '10.0.0.6', protocol: 'UDP', port: 53 }])],
    rules: [rule('e', 'egress', [{ kind: 'peer-ports', set: 'pp' }])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], egress: ['e'] })],
  });
  const plan = planIptables(rs, opts);
  assert.equal(plan.sets[0]!.entries, ['10.0.0.5,tcp:8080', '10.0.0.6,udp:53']);
  assert.ok(plan.tables[4].chains[3]!.rules[0]!.endsWith(`--match-set ${plan.sets[0]!.name} dst,dst -j RETURN`));
});

Render('each set is filled under a temporary name and swapped in; every line tolerates a loaded node', () => {
  const script = renderIpset(ruleSet({ sets: [podsSet('s', ['10.0.0.9'])] }), opts).trim().split('\n');
  const name = planIptables(ruleSet({ sets: [podsSet('s', ['10.0.0.9'])] }), opts).sets[0]!.name;
  const temp = ipsetTempName(name);
  assert.equal(script.map((l) => l.split(' ')[0]), ['create', 'flush', 'add', 'create', 'swap', 'destroy']);
  assert.is(script[4], `swap ${temp} ${name}`);
  assert.ok(script.filter((l) => /^(create|add)/.test(l)).every((l) => l.endsWith(' -exist')));
});

Render('a reload deletes every jump it finds and inserts exactly one; stale chains of ours are flushed and deleted', () => {
  const plan = planIptables(ruleSet({}), opts);
  const top = iptTopChain('knp'), input = iptInputChain('knp');
  const out = printIptables(plan, 4, { chains: [top, 'KNP-POD-0123456789ABCD'], forwardJumps: [`-j ${top}`, `-j ${top}`], inputJumps: [`-j ${input}`] }).split('\n');
  assert.equal(out.filter((l) => l.includes('FORWARD')), [`-D FORWARD -j ${top}`, `-D FORWARD -j ${top}`, `-I FORWARD 1 -j ${top}`]);
  assert.equal(out.filter((l) => l.includes('INPUT')), [`-D INPUT -j ${input}`, `-I INPUT 1 -j ${input}`]);
  assert.ok(out.includes(':KNP-POD-0123456789ABCD - [0:0]') && out.includes('-X KNP-POD-0123456789ABCD'));
  assert.ok(out.indexOf('-X KNP-POD-0123456789ABCD') > out.indexOf(`-I FORWARD 1 -j ${top}`));
});

Render('refuses malformed rule sets with a RenderError naming the field', () => {
  const bad: Array<[string, Parameters<typeof planIptables>[0]]> = [
    ['pods[0].ips[0]', ruleSet({ pods: [localPod({ name: 'x/a', ips: ['10.0.0.256'], ingress: [] })] })],
    ['sets[0].cidr', ruleSet({ sets: [cidrSet('b', '10.0.0.0/33')] })],
    ['pods[0].ingress.rules[0]', ruleSet({ pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['nope'] })] })],
    ['rules[0].terms[0].peers[0]', ruleSet({ rules: [rule('r', 'ingress', [peers(['nope'])])] })],
  ];
  for (const [where, rs] of bad) assert.throws(() => planIptables(rs, opts), (e: unknown) => e instanceof RenderError && e.message.startsWith(where));
  assert.throws(() => planIptables(ruleSet({}), { prefix: 'KNP' }), (e: unknown) => e instanceof RenderError);
});

const Names = suite('iptables and ipset names');

Names('with the longest prefix every chain fits 28 characters and every set (temporary too) fits 31', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const plan = planIptables(hostileRuleSet(seed), { prefix: 'abcdefgh' });
    for (const f of [4, 6] as const) for (const c of plan.tables[f].chains) assert.ok(c.name.length <= 28 && c.name.startsWith('ABCDEFGH-'), c.name);
    for (const s of plan.sets) assert.ok(ipsetTempName(s.name).length <= 31 && s.name.startsWith('abcdefgh-'), s.name);
  }
});

Names('hostile names, ids and selectors never reach the rule text or set names', () => {
  const safe = /^[A-Za-z0-9 *:[\],./-]*$/;
  for (let seed = 1; seed <= 40; seed++) {
    const rs = hostileRuleSet(seed);
    const text = [renderIpset(rs, opts), renderIptables(rs, { ...opts, family: 4 }), renderIptables(rs, { ...opts, family: 6 })].join('\n');
    for (const line of text.split('\n')) assert.ok(safe.test(line), `seed ${seed}: ${JSON.stringify(line)}`);
    for (const h of HOSTILE) assert.not.ok(text.includes(h.slice(2, 12)), `seed ${seed}: ${JSON.stringify(h)}`);
  }
});

const Net = suite('ipsetNetEntries (ipBlock with except)');

const netCases: Array<[what: string, cidr: string, except: string[], expected: string[]]> = [
  ['a CIDR with no except is one entry', '10.0.0.0/8', [], ['10.0.0.0/8']],
  ['an except is a nomatch hole', '10.0.0.0/8', ['10.1.0.0/16'], ['10.0.0.0/8', '10.1.0.0/16 nomatch']],
  ['0.0.0.0/0 is split into two /1 halves', '0.0.0.0/0', [], ['0.0.0.0/1', '128.0.0.0/1']],
  ['::/0 is split likewise', '::/0', ['fd00::/8'], ['::/1', '8000::/1', 'fd00::/8 nomatch']],
  ['a CIDR both matched and excepted is empty', '10.0.0.0/8', ['10.0.0.0/8'], []],
  ['an except that is a /0 half removes that half', '0.0.0.0/0', ['0.0.0.0/1', '200.0.0.0/8'], ['128.0.0.0/1', '200.0.0.0/8 nomatch']],
  ['an except inside another except is redundant', '10.0.0.0/8', ['10.1.0.0/16', '10.1.2.0/24', '10.1.0.0/16'], ['10.0.0.0/8', '10.1.0.0/16 nomatch']],
  ['an except outside the CIDR is ignored', '10.0.0.0/8', ['192.168.0.0/16'], ['10.0.0.0/8']],
];
for (const [what, c, except, expected] of netCases) Net(what, () => assert.equal(entries(c, except), expected));

/** ipset's hash:net lookup: the most specific entry containing the address decides; nomatch means no. */
function ipsetMatches(set: readonly NetEntry[], ip: { family: Family; value: bigint }): boolean {
  const hits = set.filter((e) => cidrContainsIp(e.cidr, ip)).sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  return hits.length > 0 && !hits[0]!.nomatch;
}

Net('on random CIDRs and excepts the set means exactly cidr minus excepts (as nft ranges do)', () => {
  const rand = prng(7);
  const randomCidr = (inside?: Cidr): Cidr => {
    const prefix = inside ? inside.prefix + Math.floor(rand() * (33 - inside.prefix)) : Math.floor(rand() * 12);
    const base = inside ? inside.network : 0n;
    const span = inside ? 32 - inside.prefix : 32;
    const value = base + (BigInt(Math.floor(rand() * 2 ** 31)) % (1n << BigInt(span)));
    const mask = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
    return { family: 4, network: value & mask, prefix };
  };
  for (let n = 0; n < 300; n++) {
    const outer = randomCidr();
    const except = Array.from({ length: Math.floor(rand() * 5) }, () => randomCidr(outer));
    const set = ipsetNetEntries(outer, except);
    assert.ok(set.every((e) => e.cidr.prefix >= 1), 'hash:net holds prefixes 1..32 only');
    const ranges = subtractCidrs(outer, except);
    const probes = [...except.flatMap((e) => [e.network, e.network - 1n, e.network + (1n << BigInt(32 - e.prefix))]), outer.network, ...Array.from({ length: 20 }, () => outer.network + BigInt(Math.floor(rand() * 2 ** 31)) % (1n << BigInt(32 - outer.prefix)))];
    for (const value of probes.filter((v) => v >= 0n && v < 1n << 32n)) {
      const want = ranges.some((r) => value >= r.first && value <= r.last);
      assert.is(ipsetMatches(set, { family: 4, value }), want, `${JSON.stringify(entries.length)} ${value}`);
    }
  }
});

const Delta = suite('renderIpsetDelta');
const withPeers = (ips: string[], extra: string[] = []) =>
  planIptables(ruleSet({ sets: [podsSet('s', ips), cidrSet('b', '10.0.0.0/8', extra)], rules: [rule('r', 'ingress', [peers(['s', 'b'])])], pods: [localPod({ name: 'x/a', ips: ['10.9.0.1'], ingress: ['r'] })] }), opts);

Delta('a pod-IP change is add before del in one batch', () => {
  const prev = withPeers(['10.0.0.1', '10.0.0.2']), next = withPeers(['10.0.0.2', '10.0.0.3']);
  const name = next.sets[0]!.name;
  assert.is(renderIpsetDelta(prev, next), `add ${name} 10.0.0.3 -exist\ndel ${name} 10.0.0.1 -exist\n`);
});

Delta('no change is an empty batch; a chain or ipBlock change needs a full load', () => {
  assert.is(renderIpsetDelta(withPeers(['10.0.0.1']), withPeers(['10.0.0.1'])), '');
  assert.is(renderIpsetDelta(withPeers(['10.0.0.1']), withPeers(['10.0.0.1'], ['10.1.0.0/16'])), undefined);
  const isolatedMore = planIptables(ruleSet({ sets: [podsSet('s', ['10.0.0.1']), cidrSet('b', '10.0.0.0/8')], rules: [rule('r', 'ingress', [peers(['s', 'b'])])], pods: [localPod({ name: 'x/a', ips: ['10.9.0.1'], ingress: ['r'] }), localPod({ name: 'x/b', ips: ['10.9.0.2'], ingress: ['r'] })] }), opts);
  assert.is(renderIpsetDelta(withPeers(['10.0.0.1']), isolatedMore), undefined, 'a new isolated pod changes the dispatch chain');
});

const Save = suite('iptables-save / ipset save read-back');

Save('picks our chains and FORWARD jumps; kernel-varied ipset fields and entry order do not change the digest', () => {
  const top = iptTopChain('knp');
  const save = `*nat\n:KNP-FW-X - [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [5:300]\n:${top} - [0:0]\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\n-A FORWARD -j ${top}\n-A ${top} -j RETURN\n-A KUBE-FORWARD -j ACCEPT\nCOMMIT\n`;
  const parsed = parseIptablesSave(save, 'knp');
  assert.equal(parsed.chains, [top]);
  assert.equal(parsed.forwardJumps, [`-j ${top}`]);
  assert.equal(parsed.jumpPositions, [2]);
  assert.equal(parsed.inputJumps, []);
  const input = iptInputChain('knp');
  const inputSave = (rules: string[]): string => save.replace(':KUBE-FORWARD', `:${input} - [0:0]\n${rules.join('\n')}\n:KUBE-FORWARD`);
  const accept = '-A INPUT -s 192.0.2.1/32 -j ACCEPT';
  const second = parseIptablesSave(inputSave([accept, `-A INPUT -j ${input}`]), 'knp');
  const first = parseIptablesSave(inputSave([`-A INPUT -j ${input}`, accept]), 'knp');
  assert.equal([second.inputJumps, second.inputJumpPositions], [[`-j ${input}`], [2]], 'INPUT jumps into our chains are found, other INPUT rules are not ours');
  const noSets = parseIpsetSave('', 'knp');
  assert.is.not(fingerprintIptables(first, first, noSets), fingerprintIptables(second, second, noSets), 'a moved INPUT jump is drift');
  const setsA = parseIpsetSave('create knp-as-1 hash:ip family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1\nadd knp-as-1 10.0.0.2\nadd knp-as-1 10.0.0.1\ncreate other hash:ip family inet\n', 'knp');
  const setsB = parseIpsetSave('create knp-as-1 hash:ip family inet hashsize 4096 maxelem 1048576 bucketsize 14 initval 0x2\nadd knp-as-1 10.0.0.1\nadd knp-as-1 10.0.0.2\n', 'knp');
  assert.equal(setsA.names, ['knp-as-1']);
  assert.is(fingerprintIptables(parsed, parsed, setsA), fingerprintIptables(parsed, parsed, setsB));
  const moved = parseIptablesSave(save.replace(`-A FORWARD -j KUBE-FORWARD\n-A FORWARD -j ${top}`, `-A FORWARD -j ${top}\n-A FORWARD -j KUBE-FORWARD`), 'knp');
  assert.is.not(fingerprintIptables(parsed, parsed, setsA), fingerprintIptables(moved, parsed, setsA), 'the jump position counts');
  assert.is(fingerprintIptables(parseIptablesSave('', 'knp'), parseIptablesSave('', 'knp'), parseIpsetSave('', 'knp')), undefined);
});

Render.run();
Names.run();
Net.run();
Delta.run();
Save.run();
