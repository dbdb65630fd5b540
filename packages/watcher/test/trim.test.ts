import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { contentKey, isIrrelevantChange, objectEvent, syncEvents, syncIdOf, trimObject, type TrimmedObject } from '../src/trim.js';
import { loadYaml } from '@kubernetes/client-node';
import { rawPod } from '@knp/testing';

const Trim = suite('trimObject');

Trim('a pod keeps identity, labels, node, host network, named ports, phase and IPs only', () => {
  assert.equal(trimObject('Pod', rawPod()), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { uid: 'uid-a', name: 'a', namespace: 'prod', labels: { app: 'web' }, resourceVersion: '10', creationTimestamp: '2024-05-01T10:00:00Z' },
    spec: { nodeName: 'node-1', containers: [{ ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] },
  });
});

Trim('a typed list (Date timestamps, class instances) trims like a watch event', () => {
  const fromList = trimObject('Pod', rawPod({ created: new Date('2024-05-01T10:00:00Z') }))!;
  assert.equal(fromList, trimObject('Pod', rawPod()));
  assert.is(contentKey(fromList), contentKey(trimObject('Pod', rawPod())!));
});

Trim('label keys named like Object members stay labels, and non-string values are dropped', () => {
  const labels = JSON.parse('{"__proto__":"x","constructor":"y","toString":"z","n":1}') as unknown;
  const t = trimObject('Namespace', { metadata: { uid: 'n1', name: 'ns', labels, resourceVersion: '1' } });
  const kept = t?.metadata.labels ?? {};
  assert.equal(Object.keys(kept).sort(), ['__proto__', 'constructor', 'toString']);
  assert.is(Object.getOwnPropertyDescriptor(kept, '__proto__')?.value, 'x');
  assert.is(JSON.parse(JSON.stringify(t)).metadata.labels.__proto__, 'x', 'survives the wire');
});

Trim('a namespace keeps identity and labels; a cluster-scoped object has no namespace', () => {
  assert.equal(trimObject('Namespace', { metadata: { uid: 'n1', name: 'prod', namespace: 'ignored', labels: { team: 'a' }, resourceVersion: '3' }, spec: { finalizers: ['kubernetes'] } }), {
    apiVersion: 'v1', kind: 'Namespace', metadata: { uid: 'n1', name: 'prod', labels: { team: 'a' }, resourceVersion: '3' },
  });
});

const rawNode = (conditions: unknown[], resourceVersion: string) => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { uid: 'n-1', name: 'node-1', labels: { zone: 'a' }, resourceVersion, annotations: { 'node.alpha.kubernetes.io/ttl': '0' }, managedFields: [{ manager: 'kubelet' }] },
  spec: { podCIDR: '10.244.1.0/24', providerID: 'kind://node-1' },
  status: {
    addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'node-1' }, { address: 7 }, 'junk'],
    conditions, capacity: { cpu: '2' }, nodeInfo: { kubeletVersion: 'v1.32.0' }, images: [{ names: ['nginx'] }],
  },
});

Trim('a node keeps identity, labels and its addresses only: nothing of spec or the rest of status', () => {
  assert.equal(trimObject('Node', rawNode([], '7')), {
    apiVersion: 'v1', kind: 'Node',
    metadata: { uid: 'n-1', name: 'node-1', labels: { zone: 'a' }, resourceVersion: '7' },
    status: { addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'node-1' }] },
  });
  assert.equal(trimObject('Node', { metadata: { uid: 'n-2', name: 'bare', namespace: 'ignored' } }), { apiVersion: 'v1', kind: 'Node', metadata: { uid: 'n-2', name: 'bare', resourceVersion: '' }, status: {} });
});

Trim('a node heartbeat (conditions, resourceVersion) is irrelevant; a label or address change is not', () => {
  const before = trimObject('Node', rawNode([{ type: 'Ready', lastHeartbeatTime: '2024-05-01T10:00:00Z' }], '7'))!;
  const beat = trimObject('Node', rawNode([{ type: 'Ready', lastHeartbeatTime: '2024-05-01T10:00:40Z' }], '8'))!;
  assert.ok(isIrrelevantChange(before, beat));
  const relabelled = rawNode([], '9');
  relabelled.metadata.labels = { zone: 'b' };
  assert.not.ok(isIrrelevantChange(before, trimObject('Node', relabelled)!));
  const readdressed = rawNode([], '10');
  readdressed.status.addresses = [{ type: 'InternalIP', address: '172.18.0.3' }];
  assert.not.ok(isIrrelevantChange(before, trimObject('Node', readdressed)!));
});

Trim('a cluster network policy keeps its whole spec as plain data, hostile keys as data, and no namespace', () => {
  const spec = JSON.parse('{"tier":"Admin","priority":5,"subject":{"namespaces":{"matchLabels":{"__proto__":"x"}}},"egress":[{"action":"Deny","to":[{"networks":["10.0.0.0/8"]}],"unknownField":true}]}') as unknown;
  const t = trimObject('ClusterNetworkPolicy', { metadata: { uid: 'c-1', name: 'deny', namespace: 'ignored', resourceVersion: '4', finalizers: ['x'] }, spec, status: { conditions: [] } })!;
  assert.equal(t.metadata, { uid: 'c-1', name: 'deny', resourceVersion: '4' });
  assert.is(t.apiVersion, 'policy.networking.k8s.io/v1alpha2');
  assert.equal(JSON.stringify(t.spec), JSON.stringify(spec), 'every field, unknown ones too: the compiler judges them');
  assert.is(t.status, undefined);
  const selector = (t.spec as { subject: { namespaces: { matchLabels: object } } }).subject.namespaces.matchLabels;
  assert.is(Object.getOwnPropertyDescriptor(selector, '__proto__')?.value, 'x', 'a label key __proto__ stays a key');
  assert.equal(objectEvent('added', t).namespace, undefined);
});

Trim('a network policy keeps its full spec as plain data', () => {
  class Selector { matchLabels = { app: 'web' }; matchExpressions = undefined; }
  const t = trimObject('NetworkPolicy', { metadata: { uid: 'p1', name: 'p', namespace: 'prod', resourceVersion: '4' }, spec: { podSelector: new Selector(), ingress: [{ ports: [{ port: 'http' }] }] } });
  assert.equal(t?.spec, { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] });
  assert.ok(Object.getPrototypeOf((t!.spec as { podSelector: object }).podSelector) === Object.prototype);
});

Trim('a policy deserialized by the typed client (ingress `_from`) keeps its peers like a watch event', () => {
  const wire = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { uid: 'p1', name: 'p', namespace: 'prod', resourceVersion: '4' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }] }],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    },
  };
  const typed = loadYaml(JSON.stringify(wire)) as unknown; // the client's own deserializer, as its list uses
  assert.ok('_from' in (typed as { spec: { ingress: object[] } }).spec.ingress[0]!, 'the typed client renames from to _from');
  assert.equal(trimObject('NetworkPolicy', typed), trimObject('NetworkPolicy', wire));
  assert.equal((trimObject('NetworkPolicy', typed)!.spec as { ingress: unknown[] }).ingress, wire.spec.ingress);
});

const cases: Array<[what: string, raw: unknown]> = [
  ['no metadata', { spec: {} }],
  ['no uid', { metadata: { name: 'a' } }],
  ['no name', { metadata: { uid: 'u' } }],
  ['not an object', 'pod'],
  ['null', null],
];
for (const [what, raw] of cases) Trim(`an object with ${what} is rejected`, () => assert.is(trimObject('Pod', raw), undefined));

const Relevance = suite('isIrrelevantChange');
const t = (over: Parameters<typeof rawPod>[0]): TrimmedObject => trimObject('Pod', rawPod(over))!;
const relevance: Array<[what: string, next: TrimmedObject, irrelevant: boolean]> = [
  ['a status heartbeat (conditions) with a new resourceVersion', t({ rv: '11', conditions: [{ type: 'Ready', status: 'False' }] }), true],
  ['the same object again', t({}), true],
  ['a label change', t({ rv: '11', labels: { app: 'db' } }), false],
  ['a new pod IP', t({ rv: '11', ip: '10.0.0.9' }), false],
  ['a new uid under the same name', t({ uid: 'uid-b' }), false],
];
for (const [what, next, irrelevant] of relevance)
  Relevance(`${what} is ${irrelevant ? 'irrelevant' : 'relevant'}`, () => assert.is(isIrrelevantChange(t({}), next), irrelevant));

const Events = suite('events');
Events('an object event carries the envelope and the trimmed object', () => {
  const e = objectEvent('modified', t({ rv: '12' }));
  assert.equal({ ...e, object: undefined }, { schema: 1, op: 'modified', kind: 'Pod', uid: 'uid-a', namespace: 'prod', name: 'a', resourceVersion: '12', object: undefined });
});
Events('a sync marker splits the sorted uids into chunks sharing one sync id', () => {
  const uids = ['c', 'a', 'e', 'b', 'd'];
  const chunks = syncEvents('Pod', '99', uids, 2);
  assert.equal(chunks.map((c) => [c.chunk, c.chunks, c.uids]), [[0, 3, ['a', 'b']], [1, 3, ['c', 'd']], [2, 3, ['e']]]);
  assert.equal(new Set(chunks.map((c) => c.syncId)).size, 1);
  assert.is(chunks[0]!.syncId, syncIdOf('Pod', ['e', 'd', 'c', 'b', 'a']), 'the id depends on the set, not the order');
});
Events('an empty live set still gets one sync chunk (everything of that kind is gone)', () => {
  assert.equal(syncEvents('NetworkPolicy', '5', []).map((c) => [c.chunk, c.chunks, c.uids]), [[0, 1, []]]);
});

Trim.run();
Relevance.run();
Events.run();
