import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterEvent } from '@knp/shared';
import { Ledger } from '../src/ledger.js';
import { trimObject, type TrimmedObject } from '../src/trim.js';
import { rawPod } from '@knp/testing';

const L = suite('Ledger');
const p = (uid: string, rv: string, over: Parameters<typeof rawPod>[0] = {}): TrimmedObject => trimObject('Pod', rawPod({ uid, rv, ...over }))!;
const summary = (events: readonly (ClusterEvent | undefined)[]): string[] =>
  events.filter((e) => e !== undefined).map((e) => (e!.op === 'sync' ? `sync ${e!.uids.join(',')}` : `${e!.op} ${e!.uid}@${e!.resourceVersion}`));

L('a first list adds everything, then names the live set', () => {
  const l = new Ledger();
  assert.equal(summary(l.list('Pod', [p('a', '1'), p('b', '2')], '5')), ['added a@1', 'added b@2', 'sync a,b']);
});
L('the informer callbacks that follow a list repeat nothing', () => {
  const l = new Ledger();
  l.list('Pod', [p('a', '1')], '5');
  assert.equal(summary([l.change('Pod', 'add', p('a', '1')), l.change('Pod', 'update', p('a', '1'))]), []);
});
L('watched changes: relevant ones published, heartbeats filtered, deletes once', () => {
  const l = new Ledger();
  l.list('Pod', [p('a', '1')], '5');
  const events = [
    l.change('Pod', 'update', p('a', '6', { conditions: [] })),
    l.change('Pod', 'update', p('a', '7', { labels: { app: 'db' } })),
    l.change('Pod', 'add', p('c', '8')),
    l.change('Pod', 'delete', p('a', '9', { labels: { app: 'db' } })),
    l.change('Pod', 'delete', p('a', '9', { labels: { app: 'db' } })),
  ];
  assert.equal(summary(events), ['modified a@7', 'added c@8', 'deleted a@9']);
});
L('a relist deletes what vanished (at the list version) and names the new set', () => {
  const l = new Ledger();
  l.list('Pod', [p('a', '1'), p('b', '2')], '5');
  assert.equal(summary(l.list('Pod', [p('b', '3', { ip: '10.1.1.1' }), p('c', '4')], '9')), ['modified b@3', 'added c@4', 'deleted a@9', 'sync b,c']);
});
L('a relist that finds the same live set publishes no sync again', () => {
  const l = new Ledger();
  l.list('Pod', [p('a', '1')], '5');
  assert.equal(summary(l.list('Pod', [p('a', '1')], '12')), []);
});
L('seeded from the stream, a restart publishes only what changed while it was down', () => {
  const first = new Ledger();
  const stream = first.list('Pod', [p('a', '1'), p('b', '2'), p('c', '3')], '5');
  const restarted = new Ledger();
  for (const e of stream) restarted.seed(e);
  const events = restarted.list('Pod', [p('a', '7', { conditions: [] }), p('b', '8', { labels: { v: '2' } }), p('d', '9')], '10');
  assert.equal(summary(events), ['modified b@8', 'added d@9', 'deleted c@10', 'sync a,b,d']);
});
L('kinds are separate', () => {
  const l = new Ledger();
  l.list('Pod', [p('a', '1')], '5');
  assert.equal(summary(l.list('Namespace', [], '5')), ['sync ']);
  assert.is(l.size('Pod'), 1);
});

L.run();
