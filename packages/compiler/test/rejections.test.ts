import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allRejections, compileNode, emptyState, eventsFromObjects, evolveAll } from '../src/index.js';
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
  ['a port number given as a string', { ingress: [{ ports: [{ port: '80' }] }] }, 'spec.ingress[0].ports[0].port', /a port number must be a number/],
  ['a zero-padded port number given as a string', { ingress: [{ ports: [{ port: '0080' }] }] }, 'spec.ingress[0].ports[0].port', /a port number must be a number/],
  ['a CIDR whose prefix length has a leading zero', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/08' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr', /not a CIDR/],
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

// A policy the API server would refuse outright is skipped (reported), like an object with invalid labels:
// an earlier valid version of it stays in force, so an invalid edit never stops its isolation.
const refused: Array<[string, unknown, string]> = [
  ['an invalid podSelector', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, 'spec.podSelector.matchExpressions[0].values'],
  ['an unknown policyType', { podSelector: {}, policyTypes: ['Ingress', 'Sideways'] }, 'spec.policyTypes[1]'],
];
for (const [what, spec, field] of refused)
  Rejections(`a policy with ${what} is skipped, says so, and an earlier version stays in force`, () => {
    const valid = policy('x', 'p', { podSelector: { matchLabels: { app: 'a' } }, ingress: [] });
    const { events, errors } = eventsFromObjects([...base(), valid, policy('x', 'p', spec)]);
    assert.is(errors.length, 1, errors.join('\n'));
    assert.ok(errors[0]!.includes(`NetworkPolicy x/p ${field}:`), errors[0]);
    const state = evolveAll(emptyState(), events);
    assert.not.ok(allowed(state, 'x/b', 'x/a'), 'the earlier version still isolates x/a');
  });

Rejections('egress that is not a list still isolates egress (read as no egress rules it would not)', () => {
  const state = cluster([...base(), policy('x', 'p', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{}], egress: 'all' })]);
  assert.is(allRejections(state)[0]?.field, 'spec.egress');
  assert.not.ok(allowed(state, 'x/a', 'y/c'));
  assert.ok(allowed(state, 'x/b', 'x/a'));
});
Rejections.run();
