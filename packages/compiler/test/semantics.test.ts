import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileNode } from '../src/index.js';
import { allowed, cluster, namespace, pod, policy } from '@knp/testing';
import { worldObjects } from './world.js';

/** Focused semantics beyond the conformance table: pod lifecycle, families, ports, IR shape. */
const Semantics = suite('semantics');

const world = (extra: unknown[] = []) => cluster([...worldObjects(), ...extra]);

Semantics('pods that no policy selects stay fully open', () => {
  const s = world([policy('x', 'p', { podSelector: { matchLabels: { app: 'a' } } })]);
  assert.ok(allowed(s, 'x/a', 'y/c', 1234, 'UDP'));
  assert.ok(allowed(s, 'y/c', 'x/b', 5, 'SCTP'));
  assert.not.ok(allowed(s, 'y/c', 'x/a'));
});

Semantics('policyTypes default: ingress only, plus egress when egress rules exist', () => {
  const ingressOnly = world([policy('x', 'p', { podSelector: {} })]);
  assert.not.ok(allowed(ingressOnly, 'y/c', 'x/a'));
  assert.ok(allowed(ingressOnly, 'x/a', 'y/c'));
  const both = world([policy('x', 'p', { podSelector: {}, ingress: [{}], egress: [{ to: [{ podSelector: {} }] }] })]);
  assert.not.ok(allowed(both, 'x/a', 'y/c'));
  assert.ok(allowed(both, 'x/a', 'x/b'));
});

Semantics('an egress-only policy leaves ingress open', () => {
  const s = world([policy('x', 'p', { podSelector: {}, policyTypes: ['Egress'] })]);
  assert.ok(allowed(s, 'y/c', 'x/a'));
  assert.not.ok(allowed(s, 'x/a', 'y/c'));
});

Semantics('named ports resolve per destination pod on ingress', () => {
  const s = world([policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })]);
  assert.ok(allowed(s, 'y/c', 'x/a', 8080));
  assert.not.ok(allowed(s, 'y/c', 'x/a', 9090));
  assert.ok(allowed(s, 'y/c', 'x/b', 9090));
  // two local pods resolving the name differently get two rules
  assert.is(compileNode(s, 'n1').ruleSet.rules.length, 2);
});

Semantics('named ports resolve per destination pod on egress, protocol included', () => {
  const s = world([policy('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })]);
  assert.ok(allowed(s, 'x/a', 'x/b', 9090));
  assert.not.ok(allowed(s, 'x/a', 'x/b', 8080));
  assert.not.ok(allowed(s, 'x/a', 'y/c', 7070, 'TCP'), 'y/c names http on UDP only');
  const udp = world([policy('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http', protocol: 'UDP' }] }] })]);
  assert.ok(allowed(udp, 'x/a', 'y/c', 7070, 'UDP'));
});

Semantics('endPort opens a range, inclusive', () => {
  const s = world([policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })]);
  assert.ok(allowed(s, 'y/c', 'x/a', 8000));
  assert.ok(allowed(s, 'y/c', 'x/a', 8080));
  assert.not.ok(allowed(s, 'y/c', 'x/a', 8081));
  assert.not.ok(allowed(s, 'y/c', 'x/a', 8000, 'UDP'));
});

Semantics('a port entry with only a protocol allows every port of it', () => {
  const s = world([policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })]);
  assert.ok(allowed(s, 'y/c', 'x/a', 53, 'UDP'));
  assert.not.ok(allowed(s, 'y/c', 'x/a', 53, 'TCP'));
});

Semantics('finished, unscheduled, IP-less and host-network pods are neither targets nor peers', () => {
  const extra = [
    pod({ ns: 'x', name: 'done', labels: { app: 'a' }, ip: '10.0.0.9', node: 'n1', phase: 'Succeeded' }),
    pod({ ns: 'x', name: 'host', labels: { app: 'a' }, ip: '192.168.0.1', node: 'n1', hostNetwork: true }),
    pod({ ns: 'x', name: 'pending', labels: { app: 'a' }, phase: 'Pending' }),
    policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] }),
  ];
  const s = world(extra);
  const ruleSet = compileNode(s, 'n1').ruleSet;
  assert.equal(ruleSet.pods.map((p) => p.pod).sort(), ['x/a', 'x/b']);
  const set = ruleSet.sets.find((x) => x.kind === 'pods');
  assert.equal(set?.kind === 'pods' && set.ips, ['10.0.0.1', 'fd00::1']);
});

Semantics('ipBlock still matches the IP of a pod that is not a pod peer', () => {
  const s = world([
    pod({ ns: 'y', name: 'host', ip: '10.0.1.50', node: 'n2', hostNetwork: true }),
    policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.1.0/24' } }] }] }),
  ]);
  assert.ok(allowed(s, 'y/c', 'x/a'));
  const ruleSet = compileNode(s, 'n1').ruleSet;
  assert.equal(ruleSet.sets.map((x) => x.kind === 'cidr' && x.cidr), ['10.0.1.0/24']);
});

Semantics('IPv6 pod IPs join the same sets as IPv4', () => {
  const s = world([policy('y', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'x' } } }] }] })]);
  const ruleSet = compileNode(s, 'n2').ruleSet;
  const set = ruleSet.sets.find((x) => x.kind === 'pods');
  assert.equal(set?.kind === 'pods' && set.ips, ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']);
});

Semantics('a node with no local pods gets an empty rule set', () => {
  const ruleSet = compileNode(world([policy('x', 'p', { podSelector: {} })]), 'n9').ruleSet;
  assert.equal([ruleSet.pods, ruleSet.rules, ruleSet.sets], [[], [], []]);
  assert.is(ruleSet.node, 'n9');
  assert.match(ruleSet.contentHash, /^[0-9a-f]{64}$/);
});

Semantics('the IR grows with local pods + peers, never local pods x peers', () => {
  const objects: unknown[] = [namespace('big')];
  for (let i = 0; i < 100; i++) objects.push(pod({ ns: 'big', name: `local-${i}`, labels: { role: 'server' }, ip: `10.1.0.${i + 1}`, node: 'n1' }));
  for (let i = 0; i < 200; i++) objects.push(pod({ ns: 'big', name: `peer-${i}`, labels: { role: 'client' }, ip: `10.2.${i >> 8}.${(i & 255) + 1}`, node: 'n2' }));
  objects.push(policy('big', 'p', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }, { port: 443 }] }] }));
  const ruleSet = compileNode(cluster(objects), 'n1').ruleSet;
  assert.is(ruleSet.pods.length, 100);
  assert.is(ruleSet.rules.length, 1);
  assert.is(ruleSet.sets.length, 1);
  const set = ruleSet.sets[0]!;
  assert.is(set.kind === 'pods' && set.ips.length, 200);
});

Semantics('set ids name the selector, not the members: a new peer changes members only', () => {
  const p = policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] });
  const before = compileNode(world([p]), 'n1').ruleSet;
  const after = compileNode(world([p, pod({ ns: 'y', name: 'd', ip: '10.0.1.4', node: 'n2' })]), 'n1').ruleSet;
  assert.equal(before.sets.map((s) => s.id), after.sets.map((s) => s.id));
  assert.equal(before.rules, after.rules);
  assert.is.not(before.contentHash, after.contentHash);
});

Semantics('the same objects in any order compile to the same hash', () => {
  const objects = [
    namespace('x'),
    pod({ ns: 'x', name: 'a', ip: '10.0.0.1', node: 'n1' }),
    pod({ ns: 'x', name: 'b', ip: '10.0.0.2', node: 'n1' }),
    policy('x', 'p1', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }),
    policy('x', 'p2', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }),
  ];
  const a = compileNode(cluster(objects), 'n1').ruleSet.contentHash;
  const b = compileNode(cluster([...objects].reverse()), 'n1').ruleSet.contentHash;
  assert.is(a, b);
});

Semantics('identical rules of two policies are one rule with two origins', () => {
  const rule = { from: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 80 }] };
  const s = world([policy('x', 'p1', { podSelector: {}, ingress: [rule] }), policy('x', 'p2', { podSelector: {}, ingress: [rule] })]);
  const ruleSet = compileNode(s, 'n1').ruleSet;
  assert.is(ruleSet.rules.length, 1);
  assert.equal(ruleSet.rules[0]!.origins, [{ policy: 'x/p1', rule: 0 }, { policy: 'x/p2', rule: 0 }]);
});
Semantics.run();
