import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelName, type PortMatch, type RuleSet, type RuleSetContent, type TierRule } from '@knp/shared';
import { HOSTILE, localPod, nodesSet, peers, podsSet, rule, ruleSet, tcp, tierRule, tieredRuleSet, withTiers, type PodTiers } from '@knp/testing';
import { iptablesDataplane, nftDataplane, type Dataplane, type Packet, type Verdict } from '@knp/testing/trace';
import {
  RenderError, planIptables, planNft, renderIpset, renderIpsetDelta, renderIptables, renderNft, renderNftDelta,
} from '../src/index.js';

// ClusterNetworkPolicy tiers through both renderers, traced packet by packet: admin tier in order, then
// NetworkPolicy, then baseline tier, then allowed. x/a (10.0.0.1) and x/b (10.0.0.2) are local pods;
// `web` holds 10.0.0.5 and x/b, `node` is a Node address (a nodes set, rendered like a pod set).
const options = { prefix: 'knp' };
const BACKENDS: Readonly<Record<string, (rs: RuleSetContent) => Dataplane>> = {
  nftables: (rs) => nftDataplane(renderNft(rs, options)),
  iptables: (rs) => iptablesDataplane({ ipset: renderIpset(rs, options), iptables: renderIptables(rs, { ...options, family: 4 }), ip6tables: renderIptables(rs, { ...options, family: 6 }) }),
};
const sctp = (port: number): PortMatch => ({ protocol: 'SCTP', port });
const sets = [podsSet('web', ['10.0.0.5', '10.0.0.2']), nodesSet('node', ['192.168.1.1'])];
const npRules = [rule('np-web-80', 'ingress', [peers(['web'], [tcp(80)])]), rule('np-eg-web', 'egress', [peers(['web'])])];
const T: Record<string, TierRule> = {
  acceptWeb: tierRule('a-accept-web', 'ingress', 'Accept', [peers(['web'])]),
  acceptWeb80: tierRule('a-accept-web-80', 'ingress', 'Accept', [peers(['web'], [tcp(80)])]),
  denyWeb80: tierRule('a-deny-web-80', 'ingress', 'Deny', [peers(['web'], [tcp(80)])]),
  denyAll: tierRule('a-deny-all', 'ingress', 'Deny', [peers('any')]),
  passWeb: tierRule('a-pass-web', 'ingress', 'Pass', [peers(['web'])]),
  denySctp: tierRule('a-deny-sctp', 'ingress', 'Deny', [peers('any', [sctp(9000)])]),
  egAcceptAll: tierRule('a-eg-accept', 'egress', 'Accept', [peers('any')]),
  egDenyNode: tierRule('a-eg-deny-node', 'egress', 'Deny', [peers(['node'], [tcp(10250)])]),
  bDenyWeb: tierRule('b-deny-web', 'ingress', 'Deny', [peers(['web'])], 'baseline'),
  bDenyAll: tierRule('b-deny-all', 'ingress', 'Deny', [peers('any')], 'baseline'),
  bAcceptWeb: tierRule('b-accept-web', 'ingress', 'Accept', [peers(['web'])], 'baseline'),
  bPassWeb: tierRule('b-pass-web', 'ingress', 'Pass', [peers(['web'])], 'baseline'),
};
type PodSpec = { ingress?: string[]; egress?: string[]; tiers?: PodTiers };
const scenario = (a: PodSpec, b: PodSpec = {}): RuleSet =>
  tieredRuleSet({
    sets,
    rules: npRules,
    tierRules: Object.values(T),
    pods: [
      withTiers(localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: a.ingress, egress: a.egress }), a.tiers),
      withTiers(localPod({ name: 'x/b', ips: ['10.0.0.2'], ingress: b.ingress, egress: b.egress }), b.tiers),
    ],
  });
const toA = (from: string, port = 80, protocol: Packet['protocol'] = 'TCP'): Packet => ({ src: from, dst: '10.0.0.1', protocol, dport: port });
const fromA = (to: string, port = 80): Packet => ({ src: '10.0.0.1', dst: to, protocol: 'TCP', dport: port });
const WEB = '10.0.0.5', OTHER = '10.0.0.9';

const cases: Array<[name: string, rs: RuleSet, packet: Packet, expected: Verdict]> = [
  ['admin Deny beats a NetworkPolicy allow', scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-deny-web-80'] } } }), toA(WEB), 'dropped'],
  ['admin Deny leaves what it does not match to NetworkPolicy (still isolated)', scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-deny-web-80'] } } }), toA(OTHER), 'dropped'],
  ['admin Accept beats a NetworkPolicy deny (isolated, no rules)', scenario({ ingress: [], tiers: { ingress: { admin: ['a-accept-web'] } } }), toA(WEB, 81), 'allowed'],
  ['admin Accept matching nothing leaves the NetworkPolicy deny', scenario({ ingress: [], tiers: { ingress: { admin: ['a-accept-web'] } } }), toA(OTHER), 'dropped'],
  ['admin Accept on egress beats a NetworkPolicy egress deny', scenario({ egress: [], tiers: { egress: { admin: ['a-eg-accept'] } } }), fromA(OTHER), 'allowed'],
  ['an egress admin Accept does not bypass the destination\'s ingress isolation', scenario({ tiers: { egress: { admin: ['a-eg-accept'] } } }, { ingress: [] }), fromA('10.0.0.2'), 'dropped'],
  ['admin Deny on egress to a nodes set', scenario({ tiers: { egress: { admin: ['a-eg-deny-node'] } } }), fromA('192.168.1.1', 10250), 'dropped'],
  ['admin Deny on egress to a nodes set leaves other ports open', scenario({ tiers: { egress: { admin: ['a-eg-deny-node'] } } }), fromA('192.168.1.1', 22), 'allowed'],
  ['Pass skips the rest of the admin tier into NetworkPolicy, which allows', scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'] } } }), toA(WEB), 'allowed'],
  ['Pass into NetworkPolicy, which denies', scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'] } } }), toA(WEB, 81), 'dropped'],
  ['what Pass does not match meets the next admin rule', scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'] } } }), toA(OTHER), 'dropped'],
  ['Pass with no NetworkPolicy goes on to the baseline tier, which denies', scenario({ tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'], baseline: ['b-deny-web'] } } }), toA(WEB), 'dropped'],
  ['Pass with neither NetworkPolicy nor baseline is allowed', scenario({ tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'] } } }), toA(WEB), 'allowed'],
  ['baseline Deny applies when no NetworkPolicy isolates', scenario({ tiers: { ingress: { baseline: ['b-deny-all'] } } }), toA(OTHER), 'dropped'],
  ['baseline Deny is never reached when a NetworkPolicy isolates (and allows)', scenario({ ingress: ['np-web-80'], tiers: { ingress: { baseline: ['b-deny-all'] } } }), toA(WEB), 'allowed'],
  ['baseline rules in order: Accept before Deny', scenario({ tiers: { ingress: { baseline: ['b-accept-web', 'b-deny-all'] } } }), toA(WEB), 'allowed'],
  ['baseline rules in order: Accept before Deny, others denied', scenario({ tiers: { ingress: { baseline: ['b-accept-web', 'b-deny-all'] } } }), toA(OTHER), 'dropped'],
  ['baseline Pass falls through to allowed', scenario({ tiers: { ingress: { baseline: ['b-pass-web', 'b-deny-all'] } } }), toA(WEB), 'allowed'],
  ['admin rules in order: Accept TCP 80 before Deny all', scenario({ tiers: { ingress: { admin: ['a-accept-web-80', 'a-deny-all'] } } }), toA(WEB), 'allowed'],
  ['admin rules in order: Accept TCP 80 before Deny all, port 81 denied', scenario({ tiers: { ingress: { admin: ['a-accept-web-80', 'a-deny-all'] } } }), toA(WEB, 81), 'dropped'],
  ['admin rules in order: Deny all first wins over a later Accept', scenario({ tiers: { ingress: { admin: ['a-deny-all', 'a-accept-web-80'] } } }), toA(WEB), 'dropped'],
  ['admin Deny of SCTP 9000 drops SCTP', scenario({ tiers: { ingress: { admin: ['a-deny-sctp'] } } }), toA(OTHER, 9000, 'SCTP'), 'dropped'],
  ['admin Deny of SCTP 9000 leaves TCP 9000', scenario({ tiers: { ingress: { admin: ['a-deny-sctp'] } } }), toA(OTHER, 9000), 'allowed'],
  ['a pod without tier lists is untouched by another pod\'s tiers', scenario({}, { tiers: { ingress: { admin: ['a-deny-all'] } } }), toA(OTHER), 'allowed'],
  ['replies are never judged by tiers', scenario({ tiers: { ingress: { admin: ['a-deny-all'] } } }), { ...toA(OTHER), ct: 'established' }, 'allowed'],
];

const Tiers = suite('tiers rendered and traced');
for (const [backend, load] of Object.entries(BACKENDS))
  for (const [name, rs, packet, expected] of cases)
    Tiers(`${backend}: ${name} -> ${expected}`, () => {
      const traced = load(rs).trace(packet);
      assert.is(traced.verdict, expected, traced.steps.join('\n'));
    });

// A pod with no tier lists renders exactly as before tiers existed.
const plain = ruleSet({ sets, rules: npRules, pods: [localPod({ name: 'x/a', ips: ['10.0.0.1'], ingress: ['np-web-80'], egress: [] })] });
const emptyTiers: RuleSetContent = { ...plain, tierRules: [], pods: plain.pods.map((p) => withTiers(p, { ingress: { admin: [], baseline: [] }, egress: { admin: [] } })) };
Tiers('nftables: empty tier lists and no tier rules render the same text', () => {
  assert.is(renderNft(emptyTiers, options), renderNft(plain, options));
});
Tiers('iptables: empty tier lists and no tier rules render the same text', () => {
  assert.is(renderIpset(emptyTiers, options), renderIpset(plain, options));
  assert.is(renderIptables(emptyTiers, { ...options, family: 4 }), renderIptables(plain, { ...options, family: 4 }));
});
Tiers('a pod without tier lists keeps its chains and dispatch entry when another pod gets tiers', () => {
  const before = scenario({ ingress: ['np-web-80'] }), after = scenario({ ingress: ['np-web-80'] }, { tiers: { ingress: { admin: ['a-deny-all'] } } });
  const nft = (rs: RuleSet) => planNft(rs, options);
  const podChain = kernelName('knp', 'pod', 'ingress/np-web-80');
  assert.equal(nft(after).chains.find((c) => c.name === podChain), nft(before).chains.find((c) => c.name === podChain));
  const dispatch = (rs: RuleSet) => nft(rs).sets.find((s) => s.name === kernelName('knp', 'pod', 'dispatch/ingress/v4'))!.elements;
  assert.ok(dispatch(after).includes(dispatch(before)[0]!));
  const ipt = (rs: RuleSet) => planIptables(rs, options).tables[4].chains;
  const iptPod = (rs: RuleSet) => ipt(rs).find((c) => c.rules.at(-1) === '-j DROP' && c.rules.length === 2);
  assert.equal(iptPod(after), iptPod(before));
});

Tiers('nftables: a tier rule is one chain shared by every list using it; pods with one list share its chain', () => {
  const rs = tieredRuleSet({
    sets, rules: npRules, tierRules: Object.values(T),
    pods: [
      withTiers(localPod({ name: 'x/a', ips: ['10.0.0.1'] }), { ingress: { admin: ['a-deny-all'] } }),
      withTiers(localPod({ name: 'x/b', ips: ['10.0.0.2'] }), { ingress: { admin: ['a-deny-all'] } }),
      withTiers(localPod({ name: 'x/c', ips: ['10.0.0.3'] }), { ingress: { admin: ['a-accept-web', 'a-deny-all'] } }),
    ],
  });
  const plan = planNft(rs, options);
  const denyChain = kernelName('knp', 'in', 'tier/a-deny-all');
  const jumping = plan.chains.filter((c) => c.rules.includes(`jump ${denyChain}`));
  assert.is(jumping.length, 2, 'two distinct admin lists jump to the one Deny chain');
  assert.equal(plan.chains.find((c) => c.name === denyChain)?.rules, ['drop']);
  const dispatch = plan.sets.find((s) => s.name === kernelName('knp', 'pod', 'dispatch/ingress/v4'))!.elements;
  assert.is(new Set(dispatch.slice(0, 2).map((e) => e.split(' jump ')[1])).size, 1, 'x/a and x/b share one pod chain');
});

Tiers('SCTP tier ports render in both backends', () => {
  const rs = scenario({ tiers: { ingress: { admin: ['a-deny-sctp'] } } });
  assert.ok(renderNft(rs, options).includes('sctp dport 9000 drop'));
  assert.ok(renderIptables(rs, { ...options, family: 4 }).includes('-p sctp -m sctp --dport 9000 -j DROP'));
});

Tiers('policy names from the API reach nft only as sanitised comments and iptables not at all', () => {
  for (const hostile of HOSTILE) {
    const t = { ...T.denyAll!, origin: { ...T.denyAll!.origin, policy: hostile } };
    const rs = tieredRuleSet({ sets, rules: npRules, tierRules: [t], pods: [withTiers(localPod({ name: 'x/a', ips: ['10.0.0.1'] }), { ingress: { admin: [t.id] } })] });
    const nft = renderNft(rs, options), ipt = renderIptables(rs, { ...options, family: 4 });
    for (const line of nft.split('\n')) if (line.includes('comment')) assert.match(line, /comment "[A-Za-z0-9 ._/:=[\]-]*"$/);
    if (hostile.length > 3) assert.not.ok(ipt.includes(hostile), 'not in iptables text');
    nftDataplane(nft); // still loads strictly
  }
});

const bad = (mutate: (rs: RuleSet) => unknown): RuleSetContent => mutate(scenario({ tiers: { ingress: { admin: ['a-deny-all'] } } })) as RuleSetContent;
const badCases: Array<[name: string, rs: RuleSetContent, message: RegExp]> = [
  ['a pod list naming no tier rule', bad((rs) => ({ ...rs, pods: [withTiers(rs.pods[0]!, { ingress: { admin: ['nope'] } })] })), /pods\[0\]\.ingress\.admin\[0\]: unknown tier rule "nope"/],
  ['an egress tier rule in an ingress list', bad((rs) => ({ ...rs, pods: [withTiers(rs.pods[0]!, { ingress: { admin: ['a-eg-accept'] } })] })), /is an egress rule/],
  ['a baseline tier rule in an admin list', bad((rs) => ({ ...rs, pods: [withTiers(rs.pods[0]!, { ingress: { admin: ['b-deny-all'] } })] })), /belongs to the baseline tier/],
  ['an unknown action', bad((rs) => ({ ...rs, tierRules: rs.tierRules!.map((t) => (t.id === 'a-deny-all' ? { ...t, action: 'Allow' } : t)) })), /action: "Allow"/],
  ['a tier rule naming an unknown set, even unused', bad((rs) => ({ ...rs, tierRules: [...rs.tierRules!, tierRule('zz', 'egress', 'Deny', [peers(['gone'])])] })), /unknown set "gone"/],
];
for (const [name, rs, message] of badCases)
  for (const [backend, render] of Object.entries({ nftables: () => renderNft(rs, options), iptables: () => renderIptables(rs, { ...options, family: 4 }) }))
    Tiers(`${backend}: ${name} is a RenderError`, () => {
      assert.throws(render, (err: unknown) => err instanceof RenderError && message.test((err as Error).message));
    });

Tiers('a pod-set member change with tier rules present is a set delta in both backends', () => {
  const a = scenario({ ingress: ['np-web-80'], tiers: { ingress: { admin: ['a-pass-web', 'a-deny-all'], baseline: ['b-deny-web'] } } });
  const b: RuleSetContent = { ...a, sets: [podsSet('web', ['10.0.0.5', '10.0.0.2', '10.0.0.7']), nodesSet('node', ['192.168.1.2'])] };
  const nft = renderNftDelta(planNft(a, options), planNft(b, options));
  assert.ok(nft !== undefined && nft.includes('add element') && nft.includes('10.0.0.7') && nft.includes('delete element'), nft);
  const ipt = renderIpsetDelta(planIptables(a, options), planIptables(b, options));
  assert.ok(ipt !== undefined && ipt.includes('10.0.0.7') && ipt.includes('del '), ipt);
});

Tiers.run();
