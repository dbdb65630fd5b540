import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, isResourceVersion, isUid, preview, readEnvelope } from '../src/index.js';

const Strings = suite('API strings');

const HUGE = 'a'.repeat(1_000_000);
type Case = [check: (v: unknown) => boolean, name: string, value: unknown, valid: boolean];
const cases: Case[] = [
  [isDnsLabel, 'namespace', 'kube-system', true],
  [isDnsLabel, 'namespace', 'a'.repeat(63), true],
  [isDnsLabel, 'namespace', 'a'.repeat(64), false],
  [isDnsLabel, 'namespace', 'Prod', false],
  [isDnsLabel, 'namespace', 'a.b', false],
  [isDnsLabel, 'namespace', '-a', false],
  [isDnsLabel, 'namespace', '', false],
  [isDnsLabel, 'namespace', '__proto__', false],
  [isDnsLabel, 'namespace', 'constructor', true],
  [isDnsLabel, 'namespace', 7, false],
  [isDnsSubdomain, 'name', 'web-0.example', true],
  [isDnsSubdomain, 'name', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
  [isDnsSubdomain, 'name', 'a'.repeat(254), false],
  [isDnsSubdomain, 'name', 'a..b', false],
  [isDnsSubdomain, 'name', 'a.', false],
  [isDnsSubdomain, 'name', 'toString', false],
  [isDnsSubdomain, 'name', HUGE, false],
  [isLabelKey, 'label key', 'app', true],
  [isLabelKey, 'label key', 'app.kubernetes.io/name', true],
  [isLabelKey, 'label key', 'kubernetes.io/metadata.name', true],
  [isLabelKey, 'label key', 'A_b.c-D', true],
  [isLabelKey, 'label key', 'hasOwnProperty', true],
  [isLabelKey, 'label key', '__proto__', false],
  [isLabelKey, 'label key', '_a', false],
  [isLabelKey, 'label key', 'a/b/c', false],
  [isLabelKey, 'label key', 'Example.com/a', false],
  [isLabelKey, 'label key', '/a', false],
  [isLabelKey, 'label key', 'a/', false],
  [isLabelKey, 'label key', 'a'.repeat(64), false],
  [isLabelKey, 'label key', 'a b', false],
  [isLabelKey, 'label key', HUGE, false],
  [isLabelValue, 'label value', '', true],
  [isLabelValue, 'label value', 'v1.2_3-x', true],
  [isLabelValue, 'label value', 'a'.repeat(64), false],
  [isLabelValue, 'label value', '-a', false],
  [isLabelValue, 'label value', 'a b', false],
  [isLabelValue, 'label value', 1, false],
  [isUid, 'uid', '0b6f8a2e-57a3-4c1e-9d2b-0e6b1f3f1f7a', true],
  [isUid, 'uid', 'manifest-0123456789abcdef01234567', true],
  [isUid, 'uid', 'toString', true],
  [isUid, 'uid', '__proto__', false],
  [isUid, 'uid', '', false],
  [isUid, 'uid', 'a b', false],
  [isUid, 'uid', 'a'.repeat(129), false],
  [isResourceVersion, 'resourceVersion', '', true],
  [isResourceVersion, 'resourceVersion', '123456', true],
  [isResourceVersion, 'resourceVersion', '1 2', false],
  [isResourceVersion, 'resourceVersion', 'a'.repeat(65), false],
  [isResourceVersion, 'resourceVersion', 5, false],
];
for (const [check, what, value, valid] of cases)
  Strings(`${preview(value)} is ${valid ? 'a valid' : 'not a'} ${what}`, () => assert.is(check(value), valid));

Strings('preview keeps a rejection reason short', () => {
  assert.is(preview('abc'), '"abc"');
  assert.ok(preview(HUGE).length < 80);
  assert.is(preview([1, 2]), 'a list of 2');
  assert.is(preview({ a: 1 }), 'an object');
  assert.is(preview(undefined), 'undefined');
});

const Envelope = suite('readEnvelope');
const pod = { schema: 1, op: 'added', kind: 'Pod', uid: 'u1', namespace: 'prod', name: 'web', resourceVersion: '7', object: { metadata: {} } };

Envelope('a valid event is read into a fresh value carrying only envelope fields and the object', () => {
  const read = readEnvelope({ ...pod, seq: 99, extra: 'x' });
  assert.equal(read.event, pod);
});

Envelope('a whole sync marker is read; one with a uid that is not a uid is not', () => {
  const sync = { schema: 1, op: 'sync', kind: 'Pod', resourceVersion: '9', syncId: 'abc123', chunk: 1, chunks: 2, uids: ['u1', 'u2'] };
  assert.equal(readEnvelope(sync).event, sync);
  assert.is(readEnvelope({ ...sync, uids: ['u1', 'u 2'] }).rejection?.field, 'uids[1]');
});

Envelope('each rejection names the field', () => {
  assert.is(readEnvelope({ ...pod, kind: 'constructor' }).rejection?.field, 'kind');
  assert.is(readEnvelope({ ...pod, namespace: '__proto__' }).rejection?.field, 'namespace');
  assert.is(readEnvelope({ ...pod, name: HUGE }).rejection?.field, 'name');
  assert.ok(readEnvelope({ ...pod, name: HUGE }).rejection!.reason.length < 200);
});

Strings.run();
Envelope.run();
