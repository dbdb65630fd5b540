import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileNode, nodesOf, explain, compileAll, type ClusterState } from '../src/index.js';
import { namespace, pod, policy } from '@knp/testing';
import { renderers } from '@knp/node-applier';
import { decodeWire, foldWire, wireEvent } from './wire-fold.js';

/*
 * Every wire event is decoded once at the edge. An envelope that cannot be decoded is skipped; an object
 * with invalid fields is kept with those fields rejected. Either way it is data: evolve never throws.
 */
const Input = suite('events decoded at the edge');

type Obj = Record<string, unknown>;
const HUGE = 'a'.repeat(1_000_000);

const webPod = (over: (o: { metadata: Obj; spec: Obj; status: Obj }) => void = () => {}): Obj => {
  const p = pod({ ns: 'x', name: 'web', uid: 'uid-web', labels: { app: 'web' }, ip: '10.0.0.2', node: 'n1', ports: [{ name: 'http', port: 8080 }] }) as unknown as { metadata: Obj; spec: Obj; status: Obj };
  over(p);
  return wireEvent(p);
};
const envelope = (over: Obj): Obj => ({ ...webPod(), ...over });
const without = (key: string, from: Obj = webPod()): Obj => Object.fromEntries(Object.entries(from).filter(([k]) => k !== key));
const sync = (over: Obj): Obj => ({ schema: 1, op: 'sync', kind: 'Pod', resourceVersion: '9', syncId: 's1', chunk: 0, chunks: 1, uids: ['uid-web'], ...over });
const withSpec = (spec: Obj): Obj => wireEvent(policy('x', 'p', spec));

/** Envelopes that cannot be decoded whole: skipped. */
const skipped: Array<[what: string, value: unknown]> = [
  ['a sync marker with nothing but op and kind', { schema: 1, op: 'sync', kind: 'Pod' }],
  ['a sync marker without uids', without('uids', sync({}))],
  ['a sync marker whose uids is not a list', sync({ uids: 'uid-web' })],
  ['a sync marker naming a non-string uid', sync({ uids: ['uid-web', 7] })],
  ['a sync marker naming an invalid uid', sync({ uids: ['uid-web', 'has space'] })],
  ['a sync marker naming a huge uid', sync({ uids: [HUGE] })],
  ['a sync marker without syncId', without('syncId', sync({}))],
  ['a sync marker with a huge syncId', sync({ syncId: HUGE })],
  ['a sync marker with a fractional chunk', sync({ chunk: 0.5 })],
  ['a sync marker with a negative chunk', sync({ chunk: -1 })],
  ['a sync marker with chunk past chunks', sync({ chunk: 1, chunks: 1 })],
  ['a sync marker with zero chunks', sync({ chunk: 0, chunks: 0 })],
  ['a sync marker with chunks as text', sync({ chunks: '1' })],
  ['a sync marker without resourceVersion', without('resourceVersion', sync({}))],
  ['a sync marker of an unknown kind', sync({ kind: 'Service' })],
  ['null', null],
  ['a number', 42],
  ['a string', '{"schema":1}'],
  ['a list', [webPod()]],
  ['true', true],
  ['an envelope without schema', without('schema')],
  ['an envelope of another schema', envelope({ schema: 2 })],
  ['an unknown op', envelope({ op: 'patched' })],
  ['an unknown kind', envelope({ kind: 'Service' })],
  ['the kind "constructor"', envelope({ kind: 'constructor' })],
  ['the kind "__proto__"', envelope({ kind: '__proto__' })],
  ['the op "toString"', envelope({ op: 'toString' })],
  ['a pod without uid', without('uid')],
  ['a pod whose uid is a number', envelope({ uid: 7 })],
  ['a pod whose uid is empty', envelope({ uid: '' })],
  ['a pod whose uid has a space', envelope({ uid: 'uid web' })],
  ['a pod whose uid is huge', envelope({ uid: HUGE })],
  ['a pod whose uid is "__proto__"', envelope({ uid: '__proto__' })],
  ['a pod without name', without('name')],
  ['a pod whose name has capitals', envelope({ name: 'Web' })],
  ['a pod whose name is empty', envelope({ name: '' })],
  ['a pod whose name is 254 characters', envelope({ name: 'a'.repeat(254) })],
  ['a pod whose name is huge', envelope({ name: HUGE })],
  ['a pod whose name has an empty label', envelope({ name: 'a..b' })],
  ['a pod without namespace', without('namespace')],
  ['a pod whose namespace is a number', envelope({ namespace: 1 })],
  ['a pod whose namespace has a dot', envelope({ namespace: 'a.b' })],
  ['a pod whose namespace is 64 characters', envelope({ namespace: 'a'.repeat(64) })],
  ['a pod in namespace "__proto__"', envelope({ namespace: '__proto__' })],
  ['a namespace event that names a namespace', { ...wireEvent(namespace('x')), namespace: 'y' }],
  ['a pod whose resourceVersion is a number', envelope({ resourceVersion: 5 })],
  ['a pod whose resourceVersion is huge', envelope({ resourceVersion: HUGE })],
  ['a pod added without object', without('object')],
  ['a pod added whose object is a string', envelope({ object: 'pod' })],
  ['a pod added whose object is a list', envelope({ object: [] })],
  ['a pod whose object names another uid', envelope({ uid: 'uid-other' })],
  ['a pod whose object names another namespace', envelope({ namespace: 'y' })],
  ['a pod whose metadata is a list', webPod((p) => void ((p as Obj).metadata = []))],
  ['a pod with the label key "__proto__"', webPod((p) => void (p.metadata.labels = JSON.parse('{"__proto__": "x"}') as Obj))],
  ['a pod with a label key with a space', webPod((p) => void (p.metadata.labels = { 'a b': 'x' }))],
  ['a pod with a label key with an invalid prefix', webPod((p) => void (p.metadata.labels = { 'Example.com/a': 'x' }))],
  ['a pod with a label key of two slashes', webPod((p) => void (p.metadata.labels = { 'a/b/c': 'x' }))],
  ['a pod with a label name of 64 characters', webPod((p) => void (p.metadata.labels = { ['a'.repeat(64)]: 'x' }))],
  ['a pod with a label value with a space', webPod((p) => void (p.metadata.labels = { app: 'a b' }))],
  ['a pod with a label value that is a number', webPod((p) => void (p.metadata.labels = { app: 1 }))],
  ['a pod with a huge label value', webPod((p) => void (p.metadata.labels = { app: HUGE }))],
  ['a pod whose labels are a list', webPod((p) => void (p.metadata.labels = ['app']))],
  ['a namespace with an invalid label', wireEvent(namespace('x', { 'team!': 'a' }))],
  ['a policy whose spec is missing', wireEvent({ ...policy('x', 'p', {}), spec: undefined })],
  ['a policy whose podSelector is invalid', withSpec({ podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })],
  ['a policy whose podSelector key is invalid', withSpec({ podSelector: { matchLabels: { '__proto__!': 'a' } } })],
  ['a policy with an unknown policyType', withSpec({ podSelector: {}, policyTypes: ['Sideways'] })],
];

/** Objects kept with the named field rejected. */
const kept: Array<[what: string, value: unknown, field: string]> = [
  ['a pod whose podIP is not an IP', webPod((p) => void ((p.status.podIP = 'not-an-ip'), (p.status.podIPs = undefined))), 'status.podIP'],
  ['a pod whose podIP is huge', webPod((p) => void ((p.status.podIP = HUGE), (p.status.podIPs = undefined))), 'status.podIP'],
  ['a pod whose podIPs entry is out of range', webPod((p) => void ((p.status.podIP = undefined), (p.status.podIPs = [{ ip: '10.0.0.300' }]))), 'status.podIPs[0].ip'],
  ['a pod whose podIPs is not a list', webPod((p) => void ((p.status.podIP = undefined), (p.status.podIPs = '10.0.0.2'))), 'status.podIPs'],
  ['a pod whose nodeName is invalid', webPod((p) => void (p.spec.nodeName = 'Node_1')), 'spec.nodeName'],
  ['a pod whose nodeName is huge', webPod((p) => void (p.spec.nodeName = HUGE)), 'spec.nodeName'],
  ['a pod whose phase is unknown', webPod((p) => void (p.status.phase = 'Exploded')), 'status.phase'],
  ['a pod whose phase is a number', webPod((p) => void (p.status.phase = 3)), 'status.phase'],
  ['a pod whose creationTimestamp is not RFC 3339', webPod((p) => void (p.metadata.creationTimestamp = 'yesterday')), 'metadata.creationTimestamp'],
  ['a pod whose creationTimestamp is February 30th', webPod((p) => void (p.metadata.creationTimestamp = '2026-02-30T00:00:00Z')), 'metadata.creationTimestamp'],
  ['a pod whose hostNetwork is text', webPod((p) => void (p.spec.hostNetwork = 'yes')), 'spec.hostNetwork'],
  ['a pod whose containerPort is 1.5', webPod((p) => void ((p.spec.containers as Obj[])[0]!.ports = [{ name: 'http', containerPort: 1.5 }])), 'spec.containers[0].ports[0]'],
  ['a pod whose containerPort is 70000', webPod((p) => void ((p.spec.containers as Obj[])[0]!.ports = [{ name: 'http', containerPort: 70000 }])), 'spec.containers[0].ports[0]'],
  ['a pod whose containerPort is "80"', webPod((p) => void ((p.spec.containers as Obj[])[0]!.ports = [{ name: 'http', containerPort: '80' }])), 'spec.containers[0].ports[0]'],
  ['a pod whose port name is not an IANA_SVC_NAME', webPod((p) => void ((p.spec.containers as Obj[])[0]!.ports = [{ name: 'HTTP', containerPort: 80 }])), 'spec.containers[0].ports[0]'],
  ['a pod whose spec is a string', webPod((p) => void ((p as Obj).spec = 'spec')), 'spec'],
  ['a pod whose status is a list', webPod((p) => void ((p as Obj).status = [])), 'status'],
  ['a policy with a broken rule', withSpec({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: HUGE } }] }] }), 'spec.ingress[0].from[0].ipBlock.cidr'],
  ['a policy with an invalid peer selector key', withSpec({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { 'a b': 'x' } } }] }] }), 'spec.ingress[0].from[0].podSelector.matchLabels'],
];

const setup = [namespace('x'), namespace('y'), pod({ ns: 'y', name: 'client', uid: 'uid-client', ip: '10.0.0.9', node: 'n2' })].map((o) => wireEvent(o));

/** Folding never throws and every node still compiles. */
const foldAndCompile = (values: readonly unknown[]): ClusterState => {
  const state = foldWire([...setup, ...values]);
  for (const node of new Set(['n1', 'n2', ...nodesOf(state)])) compileNode(state, node);
  return state;
};

/** A rejection names its object and field in a few hundred characters at most, whatever the input's size. */
const bounded = (r: { object: string; field: string; reason: string }): boolean => r.object.length + r.field.length + r.reason.length < 600;

for (const [what, value] of skipped)
  Input(`${what} is skipped, and folding it throws nothing`, () => {
    const decoded = decodeWire(value);
    assert.not.ok(decoded.kept, 'skipped');
    assert.ok(decoded.rejections.length > 0, 'the skip is reported');
    for (const r of decoded.rejections) assert.ok(bounded(r), `bounded: ${r.object.length + r.field.length + r.reason.length} characters`);
    const state = foldAndCompile([value]);
    assert.is(state.seq, setup.length, 'a skipped event moves no state');
  });

for (const [what, value, field] of kept)
  Input(`${what} is kept with ${field} rejected, and folding it throws nothing`, () => {
    const decoded = decodeWire(value);
    assert.ok(decoded.kept, 'kept');
    assert.ok(decoded.rejections.some((r) => r.field === field), JSON.stringify(decoded.rejections).slice(0, 500));
    for (const r of decoded.rejections) assert.ok(bounded(r));
    foldAndCompile([value]);
  });

Input('a delete needs only its identity: one without object is kept and deletes', () => {
  const { object: _object, ...del } = { ...webPod(), op: 'deleted' } as Obj;
  assert.ok(decodeWire(del).kept);
  const state = foldWire([...setup, webPod(), del]);
  assert.not.ok(nodesOf(state).includes('n1'));
});

const ipsOf = (state: ClusterState, ref: string): readonly string[] => {
  const pods = Object.values(state.pods['x'] ?? {});
  return pods.find((p) => `${p.namespace}/${p.name}` === ref)?.ips ?? [];
};

Input('an invalid IP is not an IP of the pod; its other, valid IP still is', () => {
  const state = foldWire([...setup, webPod((p) => void ((p.status.podIP = 'fd00::1'), (p.status.podIPs = [{ ip: 'fd00::1' }, { ip: '10.0.0.999' }])))]);
  assert.equal(ipsOf(state, 'x/web'), ['fd00::1']);
});

Input('IPs are kept canonical', () => {
  const state = foldWire([...setup, webPod((p) => void ((p.status.podIP = 'FD00:0:0::1'), (p.status.podIPs = [{ ip: 'FD00:0:0::1' }])))]);
  assert.equal(ipsOf(state, 'x/web'), ['fd00::1']);
});

Input('a pod skipped for its labels leaves the version before it in place', () => {
  const before = foldWire([...setup, webPod()]);
  const after = foldWire([webPod((p) => void (p.metadata.labels = { app: 'web', 'bad key': 'x' }))], before);
  assert.is(after, before);
});

Input('a sync marker that is not whole deletes nothing', () => {
  const state = foldWire([...setup, webPod(), sync({ uids: ['uid-client', 7] })]);
  assert.ok(nodesOf(state).includes('n1'));
});

// A bad containerPort resolves no named port; everything else about the pod still compiles.
for (const containerPort of [1.5, 70000, '80'])
  Input(`containerPort ${JSON.stringify(containerPort)} resolves no named port, and the node still compiles`, () => {
    const deny = wireEvent(policy('x', 'web-http', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] }));
    const state = foldWire([...setup, deny, webPod((p) => void ((p.spec.containers as Obj[])[0]!.ports = [{ name: 'http', containerPort }, { name: 'metrics', containerPort: 9090 }]))]);
    const { ruleSet } = compileNode(state, 'n1');
    const local = ruleSet.pods.find((p) => p.pod === 'x/web');
    assert.ok(local?.ingress.isolated, 'still isolated by its policy');
    assert.not.ok(JSON.stringify(ruleSet.rules).includes(String(containerPort)), 'no port from the bad entry');
    assert.not.ok(explain(state, compileAll(state), 'y/client', 'x/web', 80, 'TCP').allowed);
    for (const [format, render] of Object.entries(renderers)) {
      const text = render(ruleSet, 'knp');
      assert.type(text, 'string', format);
      assert.not.ok(/\b(1\.5|70000)\b/.test(text), `${format} renders no port from the bad entry`);
    }
  });

Input.run();
