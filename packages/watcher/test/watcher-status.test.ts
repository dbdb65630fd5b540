import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { WatchedKind } from '@knp/shared';
import { newerVersion, watcherStatus, type WatcherFacts } from '../src/watcher-status.js';

const Newer = suite('newerVersion: the resourceVersion the status record names');
const newerCases: Array<[what: string, a: string, b: string, expected: string]> = [
  ['nothing seen yet: the other', '', '42', '42'],
  ['nothing new: keep what was seen', '42', '', '42'],
  ['numbers compare as numbers, not as text', '9', '10', '10'],
  ['an older number does not move it back (a late callback)', '10', '9', '10'],
  ['numbers beyond 2^53 compare exactly', '9007199254740993', '9007199254740992', '9007199254740993'],
  ['equal: either', '7', '7', '7'],
  ['opaque (not numeric): the later one seen wins', 'abc', '12', '12'],
];
for (const [what, a, b, expected] of newerCases) Newer(what, () => assert.is(newerVersion(a, b), expected));
Newer.run();

const Status = suite('watcherStatus: what the status record says');
const kind = (resourceVersion: string, listed: boolean, informerVersion = '', objects = 0) => ({ resourceVersion, listed, informerVersion, objects });
const facts = (kinds: Partial<WatcherFacts['kinds']>, publisher: Partial<WatcherFacts['publisher']> = {}): WatcherFacts => ({
  instance: 'w-1',
  epoch: 'E1',
  startedAt: 'T0',
  kinds: { Namespace: kind('5', true), Pod: kind('5', true), NetworkPolicy: kind('5', true), Node: kind('5', true), ClusterNetworkPolicy: kind('5', true), ...kinds },
  publisher: { pending: 0, idle: true, published: 3, duplicates: 1, lastSeq: 9, ...publisher },
});
const upToDateCases: Array<[what: string, f: WatcherFacts, expected: boolean]> = [
  ['every kind listed and nothing pending: up to date', facts({}), true],
  ['a kind not listed yet: not up to date', facts({ NetworkPolicy: kind('', false) }), false],
  ['events still being published: not up to date', facts({}, { pending: 2, idle: false }), false],
  ['a kind not served (CRD absent) synced empty counts as listed: up to date', facts({ ClusterNetworkPolicy: { ...kind('', true), absent: true } }), true],
];
for (const [what, f, expected] of upToDateCases) Status(what, () => assert.is(watcherStatus(f, 'T1').upToDate, expected));
Status('a bookmark the informer saw moves the recorded resourceVersion of a kind that did not change', () => {
  const s = watcherStatus(facts({ Pod: kind('5', true, '8', 2) }), 'T1');
  assert.equal(s.kinds.Pod as unknown, { resourceVersion: '8', listed: true, objects: 2 });
  assert.is(s.kinds.Namespace.resourceVersion, '5');
});
Status('the record carries identity, epoch, heartbeat time and the publisher counters', () => {
  const { kinds: _, ...rest } = watcherStatus(facts({}, { pending: 0 }), 'T1');
  assert.equal(rest, { schema: 1, instance: 'w-1', epoch: 'E1', startedAt: 'T0', heartbeatAt: 'T1', pending: 0, upToDate: true, published: 3, duplicates: 1, lastSeq: 9 });
  assert.equal(Object.keys(watcherStatus(facts({}), 'T1').kinds).sort(), ['ClusterNetworkPolicy', 'Namespace', 'NetworkPolicy', 'Node', 'Pod'] satisfies WatchedKind[]);
});
Status('a kind not served says so in the record; a served one carries no such field', () => {
  const s = watcherStatus(facts({ ClusterNetworkPolicy: { ...kind('', true), absent: true } }), 'T1');
  assert.equal(s.kinds.ClusterNetworkPolicy as unknown, { resourceVersion: '', listed: true, objects: 0, absent: true });
  assert.not.ok('absent' in s.kinds.Node);
});
Status.run();
