import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileNode, emptyState, evolve, evolveAll, eventsFromObjects, clusterPods, type FoldEvent } from '../src/index.js';
import { allowed, namespace, pod, policy } from '@knp/testing';

const Evolve = suite('evolve');

const added = (objects: unknown[]): FoldEvent[] => eventsFromObjects(objects).events;
const deleted = (e: FoldEvent): FoldEvent => {
  if (e.op !== 'upsert') throw new Error('deleted: not an upsert');
  const { record: _record, ...identity } = e;
  return { ...identity, op: 'delete' } as FoldEvent;
};

const setup = added([
  namespace('x'),
  namespace('y'),
  pod({ ns: 'y', name: 'client', ip: '10.0.9.9', node: 'n2' }),
  policy('x', 'db-only-from-db', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'db' } } }] }] }),
  policy('y', 'egress-to-db', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'db' } } }] }] }),
]);
const [oldPod] = added([pod({ ns: 'x', name: 'db-0', uid: 'uid-old', labels: { role: 'db' }, ip: '10.0.0.5', node: 'n1', created: '2026-01-01T00:00:00Z' })]);
const [newPod] = added([pod({ ns: 'x', name: 'web-7', uid: 'uid-new', labels: { role: 'web' }, ip: '10.0.0.5', node: 'n1', created: '2026-01-02T00:00:00Z' })]);

const orders: Array<[string, FoldEvent[]]> = [
  ['old added, old deleted, new added', [oldPod!, deleted(oldPod!), newPod!]],
  ['old added, new added, old deleted late', [oldPod!, newPod!, deleted(oldPod!)]],
  ['new added before the old one is ever seen deleted', [newPod!, oldPod!]],
  ['new added, then the old pod is seen for the first time', [newPod!, oldPod!, deleted(oldPod!)]],
];
for (const [name, events] of orders)
  Evolve(`a reused IP never carries the old pod's permissions (${name})`, () => {
    const state = evolveAll(emptyState(), [...setup, ...events]);
    // y/client may reach role=db pods only: the IP now belongs to web-7
    assert.not.ok(allowed(state, 'y/client', 'x/web-7'));
    const egressSet = compileNode(state, 'n2').ruleSet.sets.find((s) => s.kind === 'pods');
    assert.ok(egressSet?.kind === 'pods' && !egressSet.ips.includes('10.0.0.5'), JSON.stringify(egressSet));
    assert.ok(clusterPods(state).some((p) => p.ref === 'x/web-7'));
    assert.not.ok(clusterPods(state).some((p) => p.ref === 'x/db-0'));
  });

Evolve('state is keyed by uid: a pod recreated under the same name is a new object', () => {
  const [a] = added([pod({ ns: 'x', name: 'p', uid: 'u1', ip: '10.0.0.1', node: 'n1' })]);
  const [b] = added([pod({ ns: 'x', name: 'p', uid: 'u2', ip: '10.0.0.2', node: 'n1' })]);
  const state = evolveAll(emptyState(), [a!, b!, deleted(a!)]);
  assert.equal(Object.keys(state.pods['x']!), ['u2']);
});

Evolve('a late delete of an old namespace keeps the new one with the same name', () => {
  const withUid = (ns: ReturnType<typeof namespace>, uid: string) => ({ ...ns, metadata: { ...ns.metadata, uid } });
  const [oldNs] = added([withUid(namespace('x', { v: '1' }), 'ns-old')]);
  const [newNs] = added([withUid(namespace('x', { v: '2' }), 'ns-new')]);
  const state = evolveAll(emptyState(), [oldNs!, newNs!, deleted(oldNs!)]);
  assert.is(state.namespaceUids['x'], 'ns-new');
  assert.equal({ ...state.namespaces['ns-new']!.labels }, { v: '2', 'kubernetes.io/metadata.name': 'x' });
});

Evolve('every namespace carries kubernetes.io/metadata.name even when the manifest omits it', () => {
  const state = evolveAll(emptyState(), added([namespace('prod', { team: 'a' })]));
  assert.equal({ ...Object.values(state.namespaces)[0]!.labels }, { team: 'a', 'kubernetes.io/metadata.name': 'prod' });
});

Evolve('a sync deletes objects of its kind that it does not name, once all chunks arrived', () => {
  const pods = added([pod({ ns: 'x', name: 'a', uid: 'a', ip: '10.0.0.1', node: 'n1' }), pod({ ns: 'x', name: 'b', uid: 'b', ip: '10.0.0.2', node: 'n1' }), pod({ ns: 'x', name: 'c', uid: 'c', ip: '10.0.0.3', node: 'n1' })]);
  const sync = (chunk: number, uids: string[]): FoldEvent => ({ op: 'sync', kind: 'Pod', syncId: 's1', chunk, chunks: 2, uids });
  let state = evolveAll(emptyState(), pods);
  state = evolve(state, sync(0, ['a']));
  assert.equal(Object.keys(state.pods['x']!).sort(), ['a', 'b', 'c'], 'nothing deleted before the last chunk');
  state = evolve(state, sync(1, ['c']));
  assert.equal(Object.keys(state.pods['x']!).sort(), ['a', 'c']);
  assert.equal(Object.keys(state.pendingSyncs), []);
  assert.is(state.ipClaims[Object.keys(state.ipClaims).find((k) => state.ipClaims[k]!['10.0.0.2'])!], undefined);
});

Evolve('evolve records the stream sequence it reflects', () => {
  const [e] = added([namespace('x')]);
  assert.is(evolve(emptyState('epoch-1'), { ...e!, seq: 42 }).seq, 42);
});

Evolve('one event leaves untouched shards identical (structural sharing)', () => {
  const before = evolveAll(emptyState(), added([pod({ ns: 'x', name: 'a', ip: '10.0.0.1', node: 'n1' }), pod({ ns: 'y', name: 'b', ip: '10.0.0.2', node: 'n1' })]));
  const after = evolve(before, added([pod({ ns: 'x', name: 'c', ip: '10.0.0.3', node: 'n1' })])[0]!);
  assert.is(after.pods['y'], before.pods['y']);
  assert.is.not(after.pods['x'], before.pods['x']);
});
Evolve.run();
