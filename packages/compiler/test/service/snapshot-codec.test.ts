import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '../../src/index.js';
import { SnapshotError, decodeSnapshot, encodeSnapshot } from '../../src/service/snapshot-codec.js';
import { namespace, pod, policy } from '@knp/testing';

const Codec = suite('snapshot codec');

const objects = [
  namespace('prod', { team: 'a' }),
  pod({ ns: 'prod', name: 'web', labels: { app: 'web' }, ip: ['10.0.0.1', 'fd00::1'], node: 'n1', ports: [{ name: 'http', port: 80 }] }),
  pod({ ns: 'prod', name: 'db', labels: { app: 'db' }, ip: '10.0.0.2', node: 'n2' }),
  policy('prod', 'db', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] } }, { ipBlock: { cidr: '2001:db8::/32' } }] }],
  }),
  policy('prod', 'bad', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/8' } }] }] }),
];
const state = evolveAll(emptyState('2026-01-01T00:00:00Z'), eventsFromObjects(objects).events.map((e, i) => ({ ...e, seq: i + 1 })));

Codec('a decoded snapshot compiles to the same rule sets as the state it was taken of (bigint CIDRs included)', () => {
  const decoded = decodeSnapshot(encodeSnapshot(state), state.epoch);
  assert.is(decoded.seq, state.seq);
  assert.equal(JSON.stringify(compileAll(decoded.state)), JSON.stringify(compileAll(state)));
  assert.is(new TextDecoder().decode(encodeSnapshot(decoded.state)), new TextDecoder().decode(encodeSnapshot(state)));
});

/** The encoded snapshot with some top-level fields replaced. */
const tampered = (over: Record<string, unknown>): Uint8Array => {
  const raw = JSON.parse(gunzipSync(encodeSnapshot(state)).toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...raw, ...over }));
};
Codec('a snapshot is stored gzipped, and one stored as plain JSON (before) still decodes', () => {
  const stored = encodeSnapshot(state);
  assert.equal([stored[0], stored[1]], [0x1f, 0x8b], 'gzip magic');
  const plain = gunzipSync(stored);
  assert.ok(stored.length < plain.length, `compressed ${stored.length} of ${plain.length} bytes`);
  assert.is(decodeSnapshot(plain, state.epoch).seq, state.seq);
});

const refusals: Array<[what: string, data: () => Uint8Array, epoch: string, message: RegExp]> = [
  ['a snapshot of another stream epoch', () => encodeSnapshot(state), '2027-01-01T00:00:00Z', /epoch/],
  ['an unknown schema version', () => tampered({ schema: 99 }), state.epoch, /schema version 99/],
  ['no schema at all', () => Buffer.from('{}'), state.epoch, /schema version undefined/],
  ['text that is not JSON', () => Buffer.from('{"schema":1,'), state.epoch, /not valid JSON/],
  ['a gzip stream cut short', () => encodeSnapshot(state).subarray(0, 40), state.epoch, /not valid JSON/],
  ['a header that does not match its state', () => tampered({ seq: 99 }), state.epoch, /does not match/],
];
for (const [what, data, epoch, message] of refusals)
  Codec(`refuses ${what}`, () => {
    try {
      decodeSnapshot(data(), epoch);
      assert.unreachable();
    } catch (err) {
      assert.instance(err, SnapshotError);
      assert.match((err as Error).message, message);
    }
  });

Codec.run();
