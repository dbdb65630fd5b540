import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelName, type PortMatch } from '@knp/shared';
import { planNft, renderNft, renderNftDelta, RenderError, nftComment } from '../src/index.js';
import { cidrSet, localPod, peers, podPortsSet, podsSet, rule, ruleSet, tcp, udp } from '@knp/testing';
import { HOSTILE, hostileRuleSet } from '@knp/testing';

const opts = { prefix: 'knp' };
const lines = (script: string): string[] => script.split('\n').map((l) => l.trim());
const chainOf = (script: string, name: string): string[] => {
  const all = lines(script), start = all.indexOf(`chain ${name} {`);
  assert.ok(start >= 0, `chain ${name} is rendered`);
  return all.slice(start + 1, all.indexOf('}', start));
};
const ruleChain = (id: string, dir: 'in' | 'eg' = 'in'): string => kernelName('knp', dir, id);
const asName = (id: string, family = 4): string => kernelName('knp', 'as', `${id}/v${family}`);

const Render = suite('renderNft');

Render('replaces the table in one script: declare, delete, recreate', () => {
  const script = renderNft(ruleSet({}), opts);
  assert.equal(lines(script).slice(0, 3), ['table inet knp {}', 'delete table inet knp', 'table inet knp {']);
  assert.is(lines(script).filter((l) => l.startsWith('table ') || l.startsWith('delete ')).length, 3, 'no other table is touched');
});

Render('two forward-hook base chains: egress at filter, ingress at filter + 1, established first, no drop', () => {
  const script = renderNft(ruleSet({}), opts);
  for (const [dir, prio] of [['egress', 'filter'], ['ingress', 'filter + 1']] as const) {
    const chain = chainOf(script, kernelName('knp', 'fw', dir));
    assert.is(chain[0], `type filter hook forward priority ${prio}; policy accept;`);
    assert.is(chain[2], 'ct state established,related accept');
    assert.not.ok(chain.some((l) => l.includes('drop')));
  }
});

Render('an input-hook base chain applies the local pods\' egress to the node itself (same dispatch maps); discovery passes', () => {
  const script = renderNft(ruleSet({ pods: [localPod({ name: 'x/a', ips: ['10.0.0.1', 'fd00::1'], egress: [] })] }), opts);
  const chain = chainOf(script, kernelName('knp', 'fw', 'egress/input'));
  assert.is(chain[0], 'type filter hook input priority filter; policy accept;');
  assert.equal(chain.slice(2), [
    'ct state established,related accept',
    'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept',
    `ip saddr vmap @${kernelName('knp', 'pod', 'dispatch/egress/v4')}`,
    `ip6 saddr vmap @${kernelName('knp', 'pod', 'dispatch/egress/v6')}`,
  ]);
  assert.not.ok(script.includes('hook output'), 'the node\'s own traffic to its pods is never filtered');
});

Render('non-isolated pods get no dispatch entry; isolated ones jump to their pod chain', () => {
  const rs = ruleSet({
    pods: [localPod({ name: 'x/open', ips: ['10.0.0.1'] }), localPod({ name: 'x/in', ips: ['10.0.0.2'], ingress: [] }), localPod({ name: 'x/eg', ips: ['10.0.0.3'], egress: [] })],
  });
  const plan = planNft(rs, opts);
  const dispatch = (dir: string) => plan.sets.find((s) => s.name === kernelName('knp', 'pod', `dispatch/${dir}/v4`))!.elements;
  assert.equal(dispatch('ingress').map((e) => e.split(' ')[0]), ['10.0.0.2']);
  assert.equal(dispatch('egress').map((e) => e.split(' ')[0]), ['10.0.0.3']);
});

Render('an isolated pod with no rules drops everything; with rules it jumps to each, then drops', () => {
  const rs = ruleSet({
    sets: [podsSet('s', ['10.0.0.9'])],
    rules: [rule('r1', 'ingress', [peers(['s'])]), rule('r2', 'ingress', [peers('any', [tcp(81)])])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r1', 'r2'] }), localPod({ name: 'x/b', ips: ['10.0.0.2'], ingress: [] })],
  });
  const script = renderNft(rs, opts);
  assert.equal(chainOf(script, kernelName('knp', 'pod', 'ingress/r1,r2')), [`jump ${ruleChain('r1')}`, `jump ${ruleChain('r2')}`, 'drop comment "ingress isolated by ns/p"']);
  assert.equal(chainOf(script, kernelName('knp', 'pod', 'ingress/')), ['drop comment "ingress isolated by ns/p"']);
});

Render('pods with the same rules share one dispatch chain', () => {
  const rs = ruleSet({
    rules: [rule('r1', 'ingress', [peers('any', [tcp(80)])])],
    pods: ['a', 'b', 'c'].map((n, i) => localPod({ name: `x/${n}`, ips: [`10.0.0.${i + 1}`], ingress: ['r1'] })),
  });
  const plan = planNft(rs, opts);
  const chain = kernelName('knp', 'pod', 'ingress/r1');
  assert.equal(plan.sets.find((s) => s.name === kernelName('knp', 'pod', 'dispatch/ingress/v4'))!.elements, ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => `${ip} : jump ${chain}`));
  assert.is(plan.chains.filter((c) => c.name.startsWith('knp-pod-')).length, 1);
});

const portSetName = (items: string) => kernelName('knp', 'as', `ports/${items}`);
const portCases: Array<[string, PortMatch[], string, string[]?]> = [
  ['no port means every port of the protocol', [tcp()], 'meta l4proto tcp'],
  ['one port', [tcp(80)], 'tcp dport 80'],
  ['a range', [tcp(80, 90)], 'tcp dport 80-90'],
  ['a port inside a range merges into it', [tcp(80, 90), tcp(85)], 'tcp dport 80-90'],
  ['several ports use a named interval set, overlaps merged (nft rejects them)', [tcp(85, 95), tcp(80, 90), tcp(96), tcp(200)], `tcp dport @${portSetName('80-96,200')}`, ['80-96', '200']],
  ['a port and all ports is all ports', [udp(53), udp()], 'meta l4proto udp'],
  ['SCTP renders even without SCTP sockets here', [{ protocol: 'SCTP', port: 9000 }], 'sctp dport 9000'],
];
for (const [name, ports, expected, setElements] of portCases)
  Render(`ports: ${name}`, () => {
    const rs = ruleSet({ rules: [rule('r', 'ingress', [peers('any', ports)])] });
    assert.equal(chainOf(renderNft(rs, opts), ruleChain('r')).slice(1), [`${expected} accept`]);
    const portSets = planNft(rs, opts).sets.filter((s) => s.role === 'ports');
    assert.equal(portSets.map((s) => s.elements), setElements ? [setElements] : []);
  });

Render('rules with the same port list share one port set', () => {
  const ports = [tcp(80), tcp(443)];
  const rs = ruleSet({ rules: [rule('r1', 'ingress', [peers('any', ports)]), rule('r2', 'egress', [peers('any', ports)])] });
  assert.is(planNft(rs, opts).sets.filter((s) => s.role === 'ports').length, 1);
});

Render('a peers term is peers x ports; ingress matches the source, egress the destination', () => {
  const rs = ruleSet({
    sets: [podsSet('p', ['10.0.0.5']), cidrSet('c', '192.168.0.0/16')],
    rules: [rule('i', 'ingress', [peers(['p', 'c'], [tcp(80), udp(53)])]), rule('e', 'egress', [peers(['p'])])],
  });
  const script = renderNft(rs, opts);
  assert.equal(chainOf(script, ruleChain('i')).slice(1), [
    `ip saddr @${asName('p')} tcp dport 80 accept`, `ip saddr @${asName('p')} udp dport 53 accept`,
    `ip saddr @${asName('c')} tcp dport 80 accept`, `ip saddr @${asName('c')} udp dport 53 accept`,
  ]);
  assert.equal(chainOf(script, ruleChain('e', 'eg')).slice(1), [`ip daddr @${asName('p')} accept`]);
});

Render('a rule with zero terms, or a term with no peers or no ports, matches nothing', () => {
  const rs = ruleSet({ rules: [rule('empty', 'ingress', []), rule('none', 'ingress', [peers([], 'any'), peers('any', [])])] });
  const script = renderNft(rs, opts);
  assert.equal(chainOf(script, ruleChain('empty')).slice(1), []);
  assert.equal(chainOf(script, ruleChain('none')).slice(1), []);
});

Render('ipBlock sets hold cidr minus except as disjoint ranges; 0.0.0.0/0 is one full range', () => {
  const rs = ruleSet({ sets: [cidrSet('all', '0.0.0.0/0'), cidrSet('holes', '10.0.0.0/8', ['10.1.0.0/16', '10.1.2.0/24', '10.255.255.255/32'])] });
  const plan = planNft(rs, opts);
  const set = (id: string) => plan.sets.find((s) => s.name === asName(id))!;
  assert.equal(set('all').elements, ['0.0.0.0-255.255.255.255']);
  assert.ok(set('all').interval);
  assert.equal(set('holes').elements, ['10.0.0.0-10.0.255.255', '10.2.0.0-10.255.255.254']);
});

Render('pod-ports sets are addr . proto . port concatenations matched on the peer address', () => {
  const rs = ruleSet({
    sets: [podPortsSet('pp', [{ ip: '10.0.0.7', protocol: 'TCP', port: 8080 }, { ip: '10.0.0.8', protocol: 'UDP', port: 53 }])],
    rules: [rule('np', 'egress', [{ kind: 'peer-ports', set: 'pp' }])],
  });
  const plan = planNft(rs, opts);
  const set = plan.sets.find((s) => s.name === asName('pp'))!;
  assert.is(set.type, 'ipv4_addr . inet_proto . inet_service');
  assert.equal(set.elements, ['10.0.0.7 . tcp . 8080', '10.0.0.8 . udp . 53']);
  assert.equal(chainOf(renderNft(rs, opts), ruleChain('np', 'eg')).slice(1), [`ip daddr . meta l4proto . th dport @${asName('pp')} accept`]);
});

Render('both families: pod sets split by family, IPv6 rules use ip6', () => {
  const rs = ruleSet({
    sets: [podsSet('p', ['10.0.0.5', 'FD00:0:0::5'])],
    rules: [rule('r', 'ingress', [peers(['p'])])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1', 'fd00::1'], ingress: ['r'] })],
  });
  const plan = planNft(rs, opts);
  assert.equal(plan.sets.find((s) => s.name === asName('p', 6))!.elements, ['fd00::5']);
  const script = renderNft(rs, opts);
  assert.equal(chainOf(script, ruleChain('r')).slice(1), [`ip saddr @${asName('p')} accept`, `ip6 saddr @${asName('p', 6)} accept`]);
  assert.ok(chainOf(script, kernelName('knp', 'fw', 'ingress')).includes(`ip6 daddr vmap @${kernelName('knp', 'pod', 'dispatch/ingress/v6')}`));
});

Render('two pods claiming one IP get one dispatch entry allowing what either allows', () => {
  const rs = ruleSet({
    rules: [rule('r1', 'ingress', [peers('any', [tcp(1)])]), rule('r2', 'ingress', [peers('any', [tcp(2)])])],
    pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r1'] }), localPod({ name: 'x/b', ips: ['10.0.0.1'], ingress: ['r2'] })],
  });
  const plan = planNft(rs, opts);
  assert.is(plan.sets.find((s) => s.name === kernelName('knp', 'pod', 'dispatch/ingress/v4'))!.elements.length, 1);
  const chain = plan.chains.find((c) => c.name === kernelName('knp', 'pod', 'ingress/r1,r2'))!;
  assert.equal(chain.rules.slice(0, 2), [`jump ${ruleChain('r1')}`, `jump ${ruleChain('r2')}`]);
});

const malformed: Array<[string, Parameters<typeof ruleSet>[0], RegExp]> = [
  ['an unknown set', { rules: [rule('r', 'ingress', [peers(['nope'])])] }, /rules\[0\]\.terms\[0\]\.peers\[0\]: unknown set/],
  ['an unknown rule', { pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['nope'] })] }, /pods\[0\]\.ingress\.rules\[0\]: unknown rule/],
  ['a rule of the wrong direction', { rules: [rule('r', 'egress', [])], pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r'] })] }, /is an egress rule/],
  ['a bad pod IP', { pods: [localPod({ name: 'x/a', ips: ['10.0.0.1; drop'], ingress: [] })] }, /pods\[0\]\.ips\[0\]: .* is not an IP address/],
  ['a bad CIDR', { sets: [cidrSet('c', '10.0.0/8')] }, /sets\[0\]\.cidr: .* is not a CIDR/],
  ['an except of another family', { sets: [cidrSet('c', '10.0.0.0/8', ['fd00::/8'])] }, /sets\[0\]\.except\[0\]/],
  ['a port out of range', { rules: [rule('r', 'ingress', [peers('any', [tcp(70000)])])] }, /is not a port/],
  ['an endPort below port', { rules: [rule('r', 'ingress', [peers('any', [tcp(90, 80)])])] }, /endPort 80 is below port 90/],
  ['a pods set in a peer-ports term', { sets: [podsSet('p', [])], rules: [rule('r', 'egress', [{ kind: 'peer-ports', set: 'p' }])] }, /not pod-ports/],
];
for (const [name, content, message] of malformed)
  Render(`refuses a rule set with ${name}, naming where`, () => {
    assert.throws(() => renderNft(ruleSet(content), opts), (err: unknown) => err instanceof RenderError && message.test(err.message));
  });

Render('refuses a prefix that is not 1-8 of a-z0-9', () => {
  assert.throws(() => renderNft(ruleSet({}), { prefix: 'knp; flush ruleset' }), (err: unknown) => err instanceof RenderError);
});

Render('the same rule set renders the same script', () => {
  assert.is(renderNft(hostileRuleSet(7), opts), renderNft(hostileRuleSet(7), opts));
});

const Hostile = suite('renderNft with hostile names');

/** Every line the renderer may print, once comment text is removed. */
const SAFE_LINE = /^[A-Za-z0-9 _.:,{}@=+;/\-\t]*$/;
const COMMENT = /comment "([^"]*)"/g;

for (let seed = 1; seed <= 40; seed++)
  Hostile(`seed ${seed}: API strings reach the script only as safe comments`, () => {
    const rs = hostileRuleSet(seed);
    const script = renderNft(rs, opts);
    for (const line of lines(script)) {
      for (const [, text] of line.matchAll(COMMENT)) assert.match(text!, /^[A-Za-z0-9 ._/:=[\]-]{0,100}$/);
      assert.match(line.replace(COMMENT, ''), SAFE_LINE, `unsafe line: ${JSON.stringify(line)}`);
    }
    const plan = planNft(rs, opts);
    const declared = lines(script).filter((l) => /^(chain|set|map) /.test(l)).length;
    assert.is(declared, plan.chains.length + plan.sets.length, 'nothing but our chains and sets is declared');
    assert.is(plan.chains.length, 2 + 3 + 3, 'two rule chains, three dispatch chains, three base chains (forward egress and ingress, input)');
  });

Hostile('the escaping function keeps a safe alphabet and a bounded length', () => {
  for (const text of HOSTILE) {
    const c = nftComment(text);
    assert.match(c, /^comment "[A-Za-z0-9 ._/:=[\]-]{0,100}"$/);
  }
});

const Delta = suite('renderNftDelta');

const base = (ips: string[], extraRule = false) => ruleSet({
  sets: [podsSet('p', ips), cidrSet('c', '10.0.0.0/8', ['10.9.0.0/16'])],
  rules: [rule('r', 'ingress', [peers(['p', 'c'])]), ...(extraRule ? [rule('r2', 'ingress', [])] : [])],
  pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['r'] })],
});

Delta('a pod-IP set change is an element change only', () => {
  const delta = renderNftDelta(planNft(base(['10.0.0.5', '10.0.0.6']), opts), planNft(base(['10.0.0.6', '10.0.0.7']), opts));
  assert.is(delta, `delete element inet knp ${asName('p')} { 10.0.0.5 }\nadd element inet knp ${asName('p')} { 10.0.0.7 }\n`);
});

Delta('no change is an empty script; a rule change needs the whole table', () => {
  assert.is(renderNftDelta(planNft(base(['10.0.0.5']), opts), planNft(base(['10.0.0.5']), opts)), '');
  assert.is(renderNftDelta(planNft(base(['10.0.0.5']), opts), planNft(base(['10.0.0.5'], true), opts)), undefined);
});

Delta('an ipBlock change needs the whole table (interval sets are rebuilt)', () => {
  const a = ruleSet({ sets: [cidrSet('c', '10.0.0.0/8')] }), b = ruleSet({ sets: [cidrSet('c', '10.0.0.0/8', ['10.1.0.0/16'])] });
  assert.is(renderNftDelta(planNft(a, opts), planNft(b, opts)), undefined);
});

Render.run();
Hostile.run();
Delta.run();
