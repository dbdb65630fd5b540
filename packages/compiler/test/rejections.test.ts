import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allRejections, compileNode } from '../src/index.js';
import { allowed, cluster, namespace, pod, policy } from '@knp/testing';

const Rejections = suite('invalid policies');

const base = () => [
  namespace('x'),
  namespace('y'),
  pod({ ns: 'x', name: 'a', labels: { app: 'a' }, ip: '10.0.0.1', node: 'n1' }),
  pod({ ns: 'x', name: 'b', labels: { app: 'b' }, ip: '10.0.0.2', node: 'n1' }),
  pod({ ns: 'y', name: 'c', labels: { app: 'c' }, ip: '10.0.0.3', node: 'n2' }),
];

const bad: Array<[string, unknown, string, RegExp]> = [
  ['a CIDR that is not one', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/8' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr', /is not a CIDR/],
  ['an except outside its cidr', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.1.0.0/24'] } }] }] }, 'spec.ingress[0].from[0].ipBlock.except[0]', /not strictly inside/],
  ['a port out of range', { ingress: [{ ports: [{ port: 70000 }] }] }, 'spec.ingress[0].ports[0].port', /1-65535/],
  ['endPort below port', { ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }, 'spec.ingress[0].ports[0].endPort', /less than port 90/],
  ['an unknown protocol', { egress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }], policyTypes: ['Egress'] }, 'spec.egress[0].ports[0].protocol', /not TCP, UDP or SCTP/],
  ['a bad selector operator', { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Is', values: ['x'] }] } }] }] }, 'spec.ingress[0].from[0].podSelector.matchExpressions[0].operator', /not one of/],
  ['ipBlock with a selector', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, 'spec.ingress[0].from[0]', /cannot be combined/],
  ['an empty peer', { ingress: [{ from: [{}] }] }, 'spec.ingress[0].from[0]', /must set/],
];

for (const [name, spec, field, reason] of bad)
  Rejections(`${name} is rejected naming object and field, and the rest still compiles`, () => {
    const state = cluster([
      ...base(),
      policy('x', 'broken', { podSelector: { matchLabels: { app: 'a' } }, ...(spec as object) }),
      policy('y', 'deny-c', { podSelector: {}, policyTypes: ['Ingress'] }),
    ]);
    const rejections = allRejections(state);
    assert.is(rejections.length, 1, JSON.stringify(rejections));
    assert.is(rejections[0]!.object, 'NetworkPolicy x/broken');
    assert.is(rejections[0]!.field, field);
    assert.match(rejections[0]!.reason, reason);
    // another policy is still enforced
    assert.not.ok(allowed(state, 'x/b', 'y/c'));
    // compileNode reports the rejection for the node whose pods live in x
    assert.is(compileNode(state, 'n1').rejections.length, 1);
  });

Rejections('a broken rule never opens traffic: the policy still isolates its pods', () => {
  const state = cluster([
    ...base(),
    policy('x', 'broken', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }] }),
  ]);
  assert.not.ok(allowed(state, 'x/b', 'x/a'));
  assert.not.ok(allowed(state, 'y/c', 'x/a'));
  assert.ok(allowed(state, 'x/a', 'x/b'));
});

Rejections('the valid rules of a policy with one broken rule still allow', () => {
  const state = cluster([
    ...base(),
    policy('x', 'half', {
      podSelector: { matchLabels: { app: 'a' } },
      ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }, { from: [{ podSelector: { matchLabels: { app: 'b' } } }] }],
    }),
  ]);
  assert.ok(allowed(state, 'x/b', 'x/a'));
  assert.not.ok(allowed(state, 'y/c', 'x/a'));
});

Rejections('an invalid podSelector drops the whole policy and says so', () => {
  const state = cluster([...base(), policy('x', 'p', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })]);
  assert.is(allRejections(state)[0]?.field, 'spec.podSelector.matchExpressions[0].values');
  assert.ok(allowed(state, 'x/b', 'x/a'));
});

Rejections('an unknown policyType is rejected', () => {
  const state = cluster([...base(), policy('x', 'p', { podSelector: {}, policyTypes: ['Ingress', 'Sideways'] })]);
  assert.is(allRejections(state)[0]?.field, 'spec.policyTypes[1]');
});
Rejections.run();
