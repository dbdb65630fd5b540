import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cluster, namespace, pod, policy } from '@knp/testing';
import { compileNode, diffRuleSets, isEmptyDiff } from '../src/index.js';

const Diff = suite('diffRuleSets: what changed between two versions of a node, in policy terms');
const base = [namespace('x'), namespace('y'), pod({ ns: 'x', name: 'a', labels: { app: 'db' }, ip: '10.0.0.1', node: 'n1' }), pod({ ns: 'y', name: 'b', labels: { app: 'web' }, ip: '10.0.0.2', node: 'n2' })];
const allowWeb = policy('x', 'allow-web', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] });
const node = (objects: unknown[]) => compileNode(cluster(objects), 'n1').ruleSet;

Diff('a policy arriving isolates the pod and adds its rule with peers and ports', () => {
  const d = diffRuleSets(node(base), node([...base, allowWeb]));
  assert.equal(d.policies.added, ['x/allow-web']);
  assert.equal(d.pods.isolation, ['x/a: ingress open -> ingress isolated by x/allow-web']);
  assert.is(d.rules.added.length, 1);
  assert.match(d.rules.added[0]!, /^x\/allow-web ingress\[0\]: from .*app=web.* on 5432\/TCP$/);
  assert.equal(d.peers.map((p) => p.added), [['10.0.0.2']]);
});

Diff('a peer pod arriving changes only the set members', () => {
  const more = pod({ ns: 'y', name: 'c', labels: { app: 'web' }, ip: '10.0.0.3', node: 'n2' });
  const d = diffRuleSets(node([...base, allowWeb]), node([...base, allowWeb, more]));
  assert.equal(d.peers, [{ set: d.peers[0]!.set, added: ['10.0.0.3'], removed: [] }]);
  assert.equal([d.policies.added, d.rules.added, d.rules.removed, d.pods.isolation], [[], [], [], []]);
});

Diff('the same content is an empty diff; a first version lists its pods', () => {
  const rs = node([...base, allowWeb]);
  assert.ok(isEmptyDiff(diffRuleSets(rs, rs)));
  assert.equal(diffRuleSets(undefined, rs).pods.added, ['x/a (ingress isolated by x/allow-web; egress open)']);
});

Diff.run();
