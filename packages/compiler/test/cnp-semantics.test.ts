import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Protocol } from '@knp/shared';
import { cluster, clusterPolicy, node, pod, policy } from '@knp/testing';
import { worldObjects } from './world.js';
import { compileAll, compileNode, diffRuleSets, evaluate, explain, type ClusterState, type Explanation } from '../src/index.js';

/** ClusterNetworkPolicy tiers through compile and evaluate: admin, then NetworkPolicy if isolated, then baseline, else allowed. */
const Tiers = suite('ClusterNetworkPolicy tiers');

const world = (extra: unknown[] = []) =>
  cluster([
    ...worldObjects(),
    node('n1', { role: 'worker' }, ['192.168.0.1', 'fd01::1']),
    node('n2', { role: 'cp' }, ['192.168.0.2']),
    ...extra,
  ]);

const why = (s: ClusterState, from: string, to: string, port = 80, protocol: Protocol = 'TCP'): Explanation => explain(s, compileAll(s), from, to, port, protocol);
const allowed = (s: ClusterState, from: string, to: string, port = 80, protocol: Protocol = 'TCP'): boolean => why(s, from, to, port, protocol).allowed;

/** The egress verdict of a local pod towards any IP (a node, an outside network), from its node's rule set. */
function egressTo(s: ClusterState, from: string, ip: string, port = 80, protocol: Protocol = 'TCP') {
  const nodeName = from.startsWith('y/') ? 'n2' : 'n1';
  const rs = compileNode(s, nodeName).ruleSet;
  const local = rs.pods.find((p) => p.pod === from)!;
  return evaluate(rs, local, 'egress', { peerIp: ip, protocol, port });
}

const cnp = (name: string, tier: 'Admin' | 'Baseline', priority: number, rest: Record<string, unknown>) =>
  clusterPolicy(name, { tier, priority, subject: { namespaces: { matchLabels: { team: 'x' } } }, ...rest });
const fromY = [{ namespaces: { matchLabels: { team: 'y' } } }];
const allowAllIngress = policy('x', 'allow-all', { podSelector: {}, ingress: [{}] });
const denyAllIngress = policy('x', 'deny-all', { podSelector: {} });

Tiers('an admin Deny beats a NetworkPolicy that allows, and explain names the policy and rule', () => {
  const s = world([allowAllIngress, cnp('block-y', 'Admin', 10, { ingress: [{ action: 'Accept', from: fromY, protocols: [{ tcp: { destinationPort: { number: 22 } } }] }, { action: 'Deny', from: fromY }] })]);
  const e = why(s, 'y/c', 'x/a');
  assert.not.ok(e.allowed);
  assert.equal(e.ingress.decidedBy, { tier: 'admin', policy: 'block-y', priority: 10, rule: 1, action: 'Deny' });
  assert.ok(allowed(s, 'y/c', 'x/a', 22), 'the earlier Accept rule decides port 22');
  assert.ok(allowed(s, 'x/b', 'x/a'), 'x is not a peer of the Deny: NetworkPolicy allows');
});

Tiers('an admin Accept beats a NetworkPolicy that denies', () => {
  const s = world([denyAllIngress, cnp('let-y', 'Admin', 10, { ingress: [{ action: 'Accept', from: fromY }] })]);
  assert.ok(allowed(s, 'y/c', 'x/a'));
  assert.not.ok(allowed(s, 'x/b', 'x/a'));
  assert.is(why(s, 'x/b', 'x/a').ingress.decidedBy.tier, 'networkpolicy');
});

Tiers('an admin Pass hands the packet to NetworkPolicy, skipping the rest of the admin tier', () => {
  const passThenDeny = [cnp('a-pass', 'Admin', 1, { ingress: [{ action: 'Pass', from: fromY }] }), cnp('b-deny', 'Admin', 2, { ingress: [{ action: 'Deny', from: fromY }] })];
  const npDenies = world([denyAllIngress, ...passThenDeny]);
  const e = why(npDenies, 'y/c', 'x/a');
  assert.not.ok(e.allowed);
  assert.is(e.ingress.decidedBy.tier, 'networkpolicy');
  assert.equal(e.ingress.passedBy, [{ policy: 'a-pass', tier: 'admin', priority: 1, rule: 0 }]);
  const noNp = world(passThenDeny);
  assert.ok(allowed(noNp, 'y/c', 'x/a'), 'Pass skipped the admin Deny; nothing else decides');
  assert.is(why(noNp, 'y/c', 'x/a').ingress.decidedBy.tier, 'default');
});

Tiers('an admin Pass reaches the baseline tier when no NetworkPolicy isolates the pod', () => {
  const s = world([cnp('pass', 'Admin', 1, { ingress: [{ action: 'Pass', from: fromY }] }), cnp('base-deny', 'Baseline', 1, { ingress: [{ action: 'Deny', from: fromY }] })]);
  assert.equal(why(s, 'y/c', 'x/a').ingress.decidedBy, { tier: 'baseline', policy: 'base-deny', priority: 1, rule: 0, action: 'Deny' });
});

Tiers('baseline decides only for pods no NetworkPolicy isolates', () => {
  const npForA = policy('x', 'a-from-y', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] });
  const s = world([npForA, cnp('base-deny', 'Baseline', 1, { ingress: [{ action: 'Deny', from: fromY }] })]);
  assert.ok(allowed(s, 'y/c', 'x/a'), 'NetworkPolicy isolates a and allows: baseline is not reached');
  assert.not.ok(allowed(s, 'y/c', 'x/b'), 'b is not isolated: baseline Deny');
  const accept = world([denyAllIngress, cnp('base-accept', 'Baseline', 1, { ingress: [{ action: 'Accept', from: fromY }] })]);
  assert.not.ok(allowed(accept, 'y/c', 'x/a'), 'a baseline Accept never overrides a NetworkPolicy');
});

Tiers('lower priority first within a tier', () => {
  const both = (acceptPriority: number) =>
    world([cnp('accept', 'Admin', acceptPriority, { ingress: [{ action: 'Accept', from: fromY }] }), cnp('deny', 'Admin', 5, { ingress: [{ action: 'Deny', from: fromY }] })]);
  assert.not.ok(allowed(both(10), 'y/c', 'x/a'));
  assert.ok(allowed(both(4), 'y/c', 'x/a'));
});

Tiers('rules keep their written order inside a policy', () => {
  const s = world([cnp('ordered', 'Admin', 1, { ingress: [
    { action: 'Accept', from: fromY, protocols: [{ tcp: { destinationPort: { number: 80 } } }] },
    { action: 'Deny', from: fromY },
    { action: 'Accept', from: fromY, protocols: [{ tcp: { destinationPort: { number: 81 } } }] },
  ] })]);
  assert.ok(allowed(s, 'y/c', 'x/a', 80));
  assert.not.ok(allowed(s, 'y/c', 'x/a', 81), 'the Deny comes first');
});

Tiers('equal priorities: the policy name decides, whatever order the objects arrive in', () => {
  const accept = (name: string) => cnp(name, 'Admin', 5, { ingress: [{ action: 'Accept', from: fromY }] });
  const deny = cnp('m-deny', 'Admin', 5, { ingress: [{ action: 'Deny', from: fromY }] });
  assert.not.ok(allowed(world([accept('z-accept'), deny]), 'y/c', 'x/a'));
  assert.ok(allowed(world([deny, accept('a-accept')]), 'y/c', 'x/a'));
  const one = compileNode(world([accept('z-accept'), deny]), 'n1').ruleSet, other = compileNode(world([deny, accept('z-accept')]), 'n1').ruleSet;
  assert.is(one.contentHash, other.contentHash);
});

Tiers('named ports resolve per destination pod on ingress, and per peer pod on egress, any protocol', () => {
  const ingress = world([cnp('np', 'Admin', 1, { ingress: [{ action: 'Deny', from: fromY, protocols: [{ destinationNamedPort: 'http' }] }] })]);
  assert.not.ok(allowed(ingress, 'y/c', 'x/a', 8080));
  assert.ok(allowed(ingress, 'y/c', 'x/a', 9090));
  assert.not.ok(allowed(ingress, 'y/c', 'x/b', 9090));
  const egress = world([cnp('np', 'Admin', 1, { egress: [{ action: 'Deny', to: fromY, protocols: [{ destinationNamedPort: 'http' }] }] })]);
  assert.not.ok(allowed(egress, 'x/a', 'y/c', 7070, 'UDP'));
  assert.ok(allowed(egress, 'x/a', 'y/c', 7070, 'TCP'), 'y/c names http on UDP only');
  assert.ok(allowed(egress, 'x/a', 'x/b', 9090), 'x/b is not a peer');
});

Tiers('port ranges are inclusive and per protocol', () => {
  const s = world([cnp('range', 'Admin', 1, { ingress: [{ action: 'Deny', from: fromY, protocols: [{ tcp: { destinationPort: { range: { start: 8000, end: 8080 } } } }] }] })]);
  for (const [port, protocol, expected] of [[7999, 'TCP', true], [8000, 'TCP', false], [8080, 'TCP', false], [8081, 'TCP', true], [8000, 'UDP', true]] as const)
    assert.is(allowed(s, 'y/c', 'x/a', port, protocol), expected, `${port}/${protocol}`);
});

Tiers('networks peers match v4 and v6 CIDRs', () => {
  const s = world([cnp('nets', 'Admin', 1, { egress: [{ action: 'Deny', to: [{ networks: ['10.0.1.0/24', 'fd00::2/128', '203.0.113.0/24'] }] }] })]);
  assert.not.ok(allowed(s, 'x/a', 'y/c'));
  assert.not.ok(egressTo(s, 'x/a', 'fd00::2').allowed);
  assert.ok(egressTo(s, 'x/a', 'fd00::3').allowed);
  assert.not.ok(egressTo(s, 'x/a', '203.0.113.7').allowed);
  assert.ok(egressTo(s, 'x/a', '198.51.100.1').allowed);
});

Tiers('nodes peers match the addresses of the Nodes their selector selects, and follow label changes', () => {
  const rule = cnp('nodes', 'Admin', 1, { egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { role: 'cp' } } }] }] });
  const s = world([rule]);
  assert.not.ok(egressTo(s, 'x/a', '192.168.0.2').allowed);
  assert.ok(egressTo(s, 'x/a', '192.168.0.1').allowed);
  const relabelled = world([rule, node('n1', { role: 'cp' }, ['192.168.0.1', 'fd01::1'])]);
  assert.not.ok(egressTo(relabelled, 'x/a', '192.168.0.1').allowed);
  assert.not.ok(egressTo(relabelled, 'x/a', 'fd01::1').allowed);
  const set = compileNode(relabelled, 'n1').ruleSet.sets.find((x) => x.kind === 'nodes');
  assert.equal(set?.kind === 'nodes' && set.ips, ['192.168.0.1', '192.168.0.2', 'fd01::1']);
});

Tiers('a rule that fails closed: Deny and Pass deny everything, Accept matches nothing', () => {
  const badDeny = world([cnp('bad', 'Admin', 1, { egress: [{ action: 'Deny', to: [{ services: {} }] }] })]);
  assert.not.ok(allowed(badDeny, 'x/a', 'y/c', 1234, 'UDP'));
  assert.not.ok(egressTo(badDeny, 'x/a', '198.51.100.1').allowed);
  const badPass = world([cnp('bad', 'Admin', 1, { egress: [{ action: 'Pass', to: [{}] }] })]);
  assert.not.ok(allowed(badPass, 'x/a', 'x/b'));
  const badAccept = world([
    cnp('bad', 'Admin', 1, { egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] }),
    cnp('base', 'Baseline', 1, { egress: [{ action: 'Deny', to: [{ namespaces: {} }] }] }),
  ]);
  assert.equal(why(badAccept, 'x/a', 'y/c').egress.decidedBy, { tier: 'baseline', policy: 'base', priority: 1, rule: 0, action: 'Deny' });
  assert.ok(compileNode(badAccept, 'n1').rejections.some((r) => r.field === 'spec.egress[0].to[0].domainNames'));
});

Tiers('an egress Accept does not bypass the destination\'s ingress', () => {
  const s = world([cnp('out', 'Admin', 1, { egress: [{ action: 'Accept', to: [{ namespaces: {} }] }] }), policy('y', 'deny-all', { podSelector: {} })]);
  const e = why(s, 'x/a', 'y/c');
  assert.ok(e.egress.allowed);
  assert.not.ok(e.ingress.allowed);
});

Tiers('subjects: pods subjects need both selectors; host-network pods are never subjects', () => {
  const s = world([
    pod({ ns: 'x', name: 'host', labels: { app: 'a' }, ip: '192.168.0.1', node: 'n1', hostNetwork: true }),
    clusterPolicy('podsub', { tier: 'Admin', priority: 1, subject: { pods: { namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'a' } } } }, ingress: [{ action: 'Deny', from: fromY }] }),
  ]);
  assert.not.ok(allowed(s, 'y/c', 'x/a'));
  assert.ok(allowed(s, 'y/c', 'x/b'));
  assert.ok(!compileNode(s, 'n1').ruleSet.pods.some((p) => p.pod === 'x/host'));
});

Tiers('the IR: a pod with tier rules and no NetworkPolicy is not isolated; pods without tiers hash as before', () => {
  const plain = compileNode(world(), 'n1').ruleSet;
  const elsewhere = compileNode(world([clusterPolicy('none', { tier: 'Admin', priority: 1, subject: { namespaces: { matchLabels: { team: 'nobody' } } }, ingress: [{ action: 'Deny', from: fromY }] })]), 'n1').ruleSet;
  assert.is(elsewhere.contentHash, plain.contentHash);
  assert.is(elsewhere.tierRules, undefined);
  const s = world([cnp('deny', 'Admin', 1, { ingress: [{ action: 'Deny', from: fromY }] }), cnp('base', 'Baseline', 7, { egress: [{ action: 'Accept', to: fromY }] })]);
  const rs = compileNode(s, 'n1').ruleSet;
  const a = rs.pods.find((p) => p.pod === 'x/a')!;
  assert.equal([a.ingress.isolated, a.ingress.rules, a.ingress.admin?.length, a.ingress.baseline], [false, [], 1, undefined]);
  assert.equal([a.egress.admin, a.egress.baseline?.length], [undefined, 1]);
  assert.equal(rs.tierRules!.map((r) => r.id), [...rs.tierRules!.map((r) => r.id)].sort());
  assert.equal(rs.tierRules!.map((r) => r.origin.policy).sort(), ['base', 'deny']);
});

Tiers('compileNode and allRejections report the rejections of the policies that apply', () => {
  const s = world([cnp('bad', 'Admin', 1, { ingress: [{ action: 'Deny', from: [{}] }] })]);
  assert.equal(compileNode(s, 'n1').rejections.map((r) => [r.object, r.field]), [['ClusterNetworkPolicy bad', 'spec.ingress[0].from[0]']]);
  assert.equal(compileNode(s, 'n2').rejections, [], 'no pod of n2 is a subject');
});

Tiers('knp history words: a tier rule coming is named with its policy, tier, priority and action', () => {
  const before = compileNode(world(), 'n1').ruleSet;
  const after = compileNode(world([cnp('block-y', 'Admin', 10, { ingress: [{ action: 'Deny', from: fromY, protocols: [{ tcp: { destinationPort: { range: { start: 80, end: 90 } } } }] }] })]), 'n1').ruleSet;
  const d = diffRuleSets(before, after);
  assert.equal(d.policies.added, ['ClusterNetworkPolicy block-y']);
  assert.equal(d.rules.added, ['ClusterNetworkPolicy block-y (admin tier, priority 10) ingress[0]: Deny from namespaces {team=y} pods {all} on 80-90/TCP']);
});

Tiers.run();
