import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatRejection, manifestUid } from '@knp/shared';
import { clusterPolicy, cluster, namespace, node, pod } from '@knp/testing';
import { compileNode, decodeEvent, eventsFromObjects, parseClusterPolicy, type ClusterRule } from '../src/index.js';
import { wireEvent } from './wire-fold.js';

/** ClusterNetworkPolicy at the edge: whole-policy errors skip it, rule errors fail closed, each named by object and field. */
const Parse = suite('ClusterNetworkPolicy parsing');

const subject = { namespaces: {} };
const base = (over: Record<string, unknown>) => ({ tier: 'Admin', priority: 10, subject, ...over });
const deny = (from: unknown[], over: Record<string, unknown> = {}) => ({ action: 'Deny', from, ...over });
const parse = (spec: unknown) => parseClusterPolicy('uid-1', 'p', { spec });

const skipped: Array<[what: string, spec: unknown, field: string]> = [
  ['no spec', undefined, 'spec'],
  ['a tier that is not Admin or Baseline', base({ tier: 'Developer' }), 'spec.tier'],
  ['a lower-case tier', base({ tier: 'admin' }), 'spec.tier'],
  ['a priority over 1000', base({ priority: 1001 }), 'spec.priority'],
  ['a negative priority', base({ priority: -1 }), 'spec.priority'],
  ['a fractional priority', base({ priority: 1.5 }), 'spec.priority'],
  ['a priority as a string', base({ priority: '10' }), 'spec.priority'],
  ['no subject', base({ subject: undefined }), 'spec.subject'],
  ['a subject with both namespaces and pods', base({ subject: { namespaces: {}, pods: { podSelector: {} } } }), 'spec.subject'],
  ['a subject with neither', base({ subject: {} }), 'spec.subject'],
  ['a subject pods without podSelector', base({ subject: { pods: { namespaceSelector: {} } } }), 'spec.subject.pods.podSelector'],
  ['a subject with a bad selector', base({ subject: { namespaces: { matchLabels: { 'bad key!': 'x' } } } }), 'spec.subject.namespaces.matchLabels'],
  ['ingress that is not a list', base({ ingress: {} }), 'spec.ingress'],
  ['26 egress rules', base({ egress: Array.from({ length: 26 }, () => ({ action: 'Deny', to: [{ namespaces: {} }] })) }), 'spec.egress'],
];
for (const [what, spec, field] of skipped)
  Parse(`a policy with ${what} is skipped, naming ${field}`, () => {
    const read = parse(spec);
    assert.is(read.record, undefined);
    assert.ok(read.rejections.some((r) => r.object === 'ClusterNetworkPolicy p' && r.field === field), JSON.stringify(read.rejections));
  });

/** [what, direction, rule, field named, the rule as read] */
const failed: Array<[what: string, ingress: unknown[] | undefined, egress: unknown[] | undefined, field: string, action: ClusterRule['action']]> = [
  ['a peer with no field (a newer API version)', [deny([{}])], undefined, 'spec.ingress[0].from[0]', 'Deny'],
  ['a peer with an unknown field', undefined, [{ action: 'Pass', to: [{ services: {} }] }], 'spec.egress[0].to[0].services', 'Pass'],
  ['a peer with two fields', [deny([{ namespaces: {}, pods: { podSelector: {} } }])], undefined, 'spec.ingress[0].from[0]', 'Deny'],
  ['an ingress networks peer', [deny([{ networks: ['10.0.0.0/8'] }])], undefined, 'spec.ingress[0].from[0].networks', 'Deny'],
  ['an ingress nodes peer', [{ action: 'Accept', from: [{ nodes: {} }] }], undefined, 'spec.ingress[0].from[0].nodes', 'Accept'],
  ['no peers', [deny([])], undefined, 'spec.ingress[0].from', 'Deny'],
  ['peers missing', undefined, [{ action: 'Deny' }], 'spec.egress[0].to', 'Deny'],
  ['26 peers', [deny(Array.from({ length: 26 }, () => ({ namespaces: {} })))], undefined, 'spec.ingress[0].from', 'Deny'],
  ['an unknown action', [{ action: 'Allow', from: [{ namespaces: {} }] }], undefined, 'spec.ingress[0].action', 'unknown'],
  ['a rule that is not an object', ['Deny'], undefined, 'spec.ingress[0]', 'unknown'],
  ['an unknown rule field', [deny([{ namespaces: {} }], { ports: [80] })], undefined, 'spec.ingress[0].ports', 'Deny'],
  ['a CIDR that is not one', undefined, [{ action: 'Deny', to: [{ networks: ['10.0.0.0/33'] }] }], 'spec.egress[0].to[0].networks[0]', 'Deny'],
  ['26 networks', undefined, [{ action: 'Accept', to: [{ networks: Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`) }] }], 'spec.egress[0].to[0].networks', 'Accept'],
  ['domainNames (not enforced: it needs DNS interception)', undefined, [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }], 'spec.egress[0].to[0].domainNames', 'Accept'],
  ['a protocol with tcp and udp', [deny([{ namespaces: {} }], { protocols: [{ tcp: { destinationPort: { number: 80 } }, udp: { destinationPort: { number: 80 } } }] })], undefined, 'spec.ingress[0].protocols[0]', 'Deny'],
  ['an unknown protocol', [deny([{ namespaces: {} }], { protocols: [{ icmp: {} }] })], undefined, 'spec.ingress[0].protocols[0].icmp', 'Deny'],
  ['tcp without destinationPort', [deny([{ namespaces: {} }], { protocols: [{ tcp: {} }] })], undefined, 'spec.ingress[0].protocols[0].tcp', 'Deny'],
  ['port 0', [deny([{ namespaces: {} }], { protocols: [{ tcp: { destinationPort: { number: 0 } } }] })], undefined, 'spec.ingress[0].protocols[0].tcp.destinationPort.number', 'Deny'],
  ['port 65536', [deny([{ namespaces: {} }], { protocols: [{ udp: { destinationPort: { number: 65536 } } }] })], undefined, 'spec.ingress[0].protocols[0].udp.destinationPort.number', 'Deny'],
  ['a port as a string', [deny([{ namespaces: {} }], { protocols: [{ tcp: { destinationPort: { number: '80' } } }] })], undefined, 'spec.ingress[0].protocols[0].tcp.destinationPort.number', 'Deny'],
  ['a range with start = end', [deny([{ namespaces: {} }], { protocols: [{ sctp: { destinationPort: { range: { start: 80, end: 80 } } } }] })], undefined, 'spec.ingress[0].protocols[0].sctp.destinationPort.range', 'Deny'],
  ['a range end over 65535', [deny([{ namespaces: {} }], { protocols: [{ tcp: { destinationPort: { range: { start: 80, end: 70000 } } } }] })], undefined, 'spec.ingress[0].protocols[0].tcp.destinationPort.range.end', 'Deny'],
  ['number and range', [deny([{ namespaces: {} }], { protocols: [{ tcp: { destinationPort: { number: 80, range: { start: 1, end: 2 } } } }] })], undefined, 'spec.ingress[0].protocols[0].tcp.destinationPort', 'Deny'],
  ['an invalid named port', [deny([{ namespaces: {} }], { protocols: [{ destinationNamedPort: 'no_such--name' }] })], undefined, 'spec.ingress[0].protocols[0].destinationNamedPort', 'Deny'],
  ['a named port with a networks peer', undefined, [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8'] }], protocols: [{ destinationNamedPort: 'http' }] }], 'spec.egress[0].protocols', 'Deny'],
  ['a named port with a nodes peer', undefined, [{ action: 'Pass', to: [{ nodes: {} }], protocols: [{ destinationNamedPort: 'http' }] }], 'spec.egress[0].protocols', 'Pass'],
  ['empty protocols', [deny([{ namespaces: {} }], { protocols: [] })], undefined, 'spec.ingress[0].protocols', 'Deny'],
  ['a pods peer without podSelector', [deny([{ pods: { namespaceSelector: {} } }])], undefined, 'spec.ingress[0].from[0].pods.podSelector', 'Deny'],
  ['a pods peer with an unknown field', [deny([{ pods: { podSelector: {}, nodeSelector: {} } }])], undefined, 'spec.ingress[0].from[0].pods.nodeSelector', 'Deny'],
  ['a bad selector operator', [deny([{ namespaces: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }])], undefined, 'spec.ingress[0].from[0].namespaces.matchExpressions[0].operator', 'Deny'],
  ['a rule name over 100 characters', [deny([{ namespaces: {} }], { name: 'x'.repeat(101) })], undefined, 'spec.ingress[0].name', 'Deny'],
];
for (const [what, ingress, egress, field, action] of failed)
  Parse(`a rule with ${what} fails closed (${action === 'Accept' ? 'matches nothing' : 'denies all'}), naming ${field}`, () => {
    const read = parse(base({ ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}) }));
    assert.ok(read.record, 'the policy is kept');
    const rule = (ingress ? read.record!.ingress : read.record!.egress)[0]!;
    assert.equal(rule, { kind: 'failed', index: 0, action });
    const hit = read.rejections.find((r) => r.field === field);
    assert.ok(hit, `${field} in ${JSON.stringify(read.rejections)}`);
    assert.is(hit!.object, 'ClusterNetworkPolicy p');
    assert.match(hit!.reason, action === 'Accept' ? 'matches nothing' : 'denies all traffic');
  });

Parse('domainNames is rejected with the reason: knp does not enforce it', () => {
  const read = parse(base({ egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] }));
  assert.match(read.rejections.map(formatRejection).join('\n'), /domainNames.*not enforced by knp \(it needs DNS interception\)/);
});

Parse('a valid policy reads whole: tier, priority, subject, rules in order with peers and ports', () => {
  const read = parse({
    tier: 'Baseline', priority: 0, subject: { pods: { namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'a' } } } },
    ingress: [{ name: 'first', action: 'Pass', from: [{ namespaces: {} }], protocols: [{ tcp: { destinationPort: { number: 80 } } }, { destinationNamedPort: 'http' }] }],
    egress: [
      { action: 'Accept', to: [{ networks: ['10.0.0.1/8', 'fd00::/64'] }], protocols: [{ udp: { destinationPort: { range: { start: 1000, end: 2000 } } } }] },
      { action: 'Deny', to: [{ nodes: { matchLabels: { role: 'cp' } } }, { pods: { podSelector: {} } }] },
    ],
  });
  assert.equal(read.rejections, []);
  const r = read.record!;
  assert.is(r.tier, 'baseline');
  assert.is(r.priority, 0);
  assert.is(r.subject.kind, 'pods');
  assert.equal(r.ingress.map((x) => [x.kind, x.action]), [['match', 'Pass']]);
  const [accept, denied] = r.egress;
  assert.ok(accept?.kind === 'match' && accept.peers.length === 2 && accept.ports !== 'any');
  assert.equal(accept.kind === 'match' && accept.ports, [{ kind: 'number', protocol: 'UDP', port: 1000, endPort: 2000 }]);
  assert.equal(denied?.kind === 'match' && denied.peers.map((p) => p.kind), ['nodes', 'pods']);
});

Parse('only a bad rule fails closed: the others of the policy stay as written', () => {
  const read = parse(base({ ingress: [deny([{ namespaces: {} }]), { action: 'Accept', from: [{}] }, deny([{ pods: { podSelector: {} } }])] }));
  assert.equal(read.record!.ingress.map((r) => r.kind), ['match', 'failed', 'match']);
  assert.is(read.rejections.length, 1);
});

Parse('decodeEvent: a skipped policy says so; a kept one carries its rule rejections', () => {
  const bad = decodeEvent(wireEvent(clusterPolicy('p', base({ tier: 'Nope' }))));
  assert.is(bad.event, undefined);
  assert.match(formatRejection(bad.rejections[0]!), /ClusterNetworkPolicy p spec.tier: .*object skipped/);
  const kept = decodeEvent(wireEvent(clusterPolicy('p', base({ ingress: [deny([{}])] }))));
  assert.is(kept.event?.kind, 'ClusterNetworkPolicy');
  assert.is(kept.rejections[0]?.field, 'spec.ingress[0].from[0]');
});

Parse('manifests read Nodes and ClusterNetworkPolicies, the latter only as policy.networking.k8s.io/v1alpha2', () => {
  const other = { ...clusterPolicy('old', base({})), apiVersion: 'policy.networking.k8s.io/v1alpha1' };
  const { events, errors } = eventsFromObjects([node('n1', { role: 'cp' }, ['192.168.0.1']), clusterPolicy('p', base({})), other]);
  assert.equal(events.map((e) => e.kind), ['Node', 'ClusterNetworkPolicy']);
  assert.match(errors.join('\n'), 'ClusterNetworkPolicy apiVersion "policy.networking.k8s.io/v1alpha1" is not policy.networking.k8s.io/v1alpha2');
});

Parse('a Node reads its InternalIP and ExternalIP addresses, canonical and deduplicated; a bad address is reported', () => {
  const object = {
    ...node('n1', { role: 'cp' }),
    status: { addresses: [
      { type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '192.168.0.1' }, { type: 'ExternalIP', address: 'FD00:0::1' },
      { type: 'InternalIP', address: '192.168.0.1' }, { type: 'InternalIP', address: '192.168.0.300' }, { type: 'InternalDNS', address: 'n1.local' },
    ] },
  };
  const { event, rejections } = decodeEvent(wireEvent(object));
  assert.equal(event?.kind === 'Node' && event.op === 'upsert' && event.record.ips, ['192.168.0.1', 'fd00::1']);
  assert.equal(rejections.map((r) => [r.object, r.field]), [['Node n1', 'status.addresses[4].address']]);
});

Parse('a Node with invalid labels is skipped; a Node cannot be in a namespace', () => {
  const bad = decodeEvent(wireEvent({ ...node('n1'), metadata: { name: 'n1', labels: { 'a b': 'x' } } }));
  assert.is(bad.event, undefined);
  const namespaced = decodeEvent({ ...wireEvent(node('n1')), namespace: 'x' });
  assert.is(namespaced.event, undefined);
  assert.match(namespaced.rejections[0]!.reason, 'a Node is in no namespace');
});

Parse('hostile names and label keys are only keys: constructor, toString, hasOwnProperty', () => {
  const s = cluster([
    namespace('constructor', { toString: 'x' }),
    pod({ ns: 'constructor', name: 'tostring', labels: { hasOwnProperty: 'y' }, ip: '10.0.0.1', node: 'constructor' }),
    node('constructor', { toString: 'x', constructor: 'y' }, ['192.168.0.9']),
    clusterPolicy('constructor', { tier: 'Admin', priority: 1, subject: { namespaces: { matchLabels: { toString: 'x' } } }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { constructor: 'y' } } }] }] }),
    clusterPolicy('hasownproperty', { tier: 'Baseline', priority: 1, subject: { pods: { podSelector: { matchLabels: { hasOwnProperty: 'y' } } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
  ]);
  assert.is(Object.keys(s.clusterPolicies).length, 2);
  assert.ok(s.nodes[manifestUid('Node', undefined, 'constructor')]);
  assert.is(Object.getPrototypeOf(s.nodes), null);
  assert.is(Object.getPrototypeOf(s.clusterPolicies), null);
  const rs = compileNode(s, 'constructor').ruleSet;
  assert.equal(rs.pods[0]?.egress.admin?.length, 1, 'the policy applies through a label named toString');
  assert.equal(rs.pods[0]?.ingress.baseline?.length, 1, 'and one through a label named hasOwnProperty');
  const nodes = rs.sets.find((x) => x.kind === 'nodes');
  assert.equal(nodes?.kind === 'nodes' && nodes.ips, ['192.168.0.9']);
  // the names parse as tiers or protocols never: a prototype member is not a tier
  assert.is(parse(base({ tier: 'constructor' })).record, undefined);
  assert.is(parse(base({ tier: '__proto__' })).record, undefined);
  assert.equal(parse(base({ ingress: [deny([{ namespaces: {} }], { protocols: [{ toString: {} }] })] })).record!.ingress[0]!.kind, 'failed');
});

Parse.run();
