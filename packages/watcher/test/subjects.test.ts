import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EVENT_SCHEMA, type ClusterEvent } from '@knp/shared';
import { eventSubjectOf, messageIdOf, syncSubject } from '../src/subjects.js';
import { chunkSubject, planChunks, HEADER_ROOM_BYTES } from '@knp/shared/nats';

const Subjects = suite('subjects and message ids');
const ev = (over: Partial<ClusterEvent> & Record<string, unknown>): ClusterEvent =>
  ({ schema: EVENT_SCHEMA, op: 'added', kind: 'Pod', uid: 'u1', namespace: 'prod', name: 'web', resourceVersion: '7', ...over }) as ClusterEvent;

const cases: Array<[what: string, event: ClusterEvent, subject: string, id: string]> = [
  ['a pod', ev({}), 'knp.ev.pod.cHJvZA.d2Vi', 'u1:7'],
  ['a name with dots and wildcards', ev({ name: 'a.b*>c' }), 'knp.ev.pod.cHJvZA.YS5iKj5j', 'u1:7'],
  ['a namespace (cluster-scoped)', ev({ kind: 'Namespace', namespace: undefined, name: 'prod' }), 'knp.ev.namespace.-.cHJvZA', 'u1:7'],
  ['a deletion', ev({ op: 'deleted', resourceVersion: '9' }), 'knp.ev.pod.cHJvZA.d2Vi', 'u1:9'],
  ['a sync chunk', { schema: EVENT_SCHEMA, op: 'sync', kind: 'NetworkPolicy', resourceVersion: '9', syncId: 's1', chunk: 2, chunks: 3, uids: [] }, 'knp.ev.sync.networkpolicy', 'sync:NetworkPolicy:s1:2'],
];
for (const [what, event, subject, id] of cases)
  Subjects(`${what} -> ${subject} (${id})`, () => {
    assert.is(eventSubjectOf('knp', event), subject);
    assert.is(messageIdOf(event), id);
    for (const token of subject.split('.')) assert.ok(token.length > 0 && !/[\s*>]/.test(token), `token ${token}`);
  });
Subjects('a sync subject never has the five tokens of an object subject', () => {
  assert.is(syncSubject('knp', 'Pod').split('.').length, 4);
});

const Chunks = suite('planChunks');
Chunks('a payload that fits is one range', () => assert.equal(planChunks(10, 1024 * 1024), [[0, 10]]));
Chunks('a larger payload is split into parts that each fit with header room', () => {
  const max = 64 * 1024, part = max - HEADER_ROOM_BYTES;
  const ranges = planChunks(3 * part + 1, max);
  assert.equal(ranges, [[0, part], [part, 2 * part], [2 * part, 3 * part], [3 * part, 3 * part + 1]]);
});
Chunks('parts live on their own subject under the same wildcard', () => {
  assert.is(chunkSubject('knp.rules.bm9kZS0x', 3), 'knp.rules.bm9kZS0x~3');
  assert.is(chunkSubject('knp.rules.bm9kZS0x', 3).split('.').length, 3);
});

Subjects.run();
Chunks.run();
