import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterEvent, ObjectKind } from '@knp/shared';
import { WatcherOps, type WatcherOpsFacts } from '../src/watcher-ops.js';

const Latch = suite('WatcherOps readiness: ready once the first lists are published, until the stream is recreated');
const event = { kind: 'Pod', op: 'added' } as ClusterEvent;

Latch('lists, publishing, published, changes after, recreated stream, relisting', () => {
  let facts: WatcherOpsFacts = { standby: false, unlisted: ['Pod', 'Namespace', 'NetworkPolicy'] as ObjectKind[], pending: 0 };
  const ops = new WatcherOps();
  const starting = ops.readiness();
  assert.not.ok(starting.ready, 'still connecting');
  assert.match(starting.reason, /connecting to NATS/);
  ops.attach(() => facts);
  assert.not.ok(ops.readiness().ready, 'nothing listed');
  facts = { standby: false, unlisted: [], pending: 5 };
  ops.queued(5);
  assert.not.ok(ops.readiness().ready, 'listed, the lists not published');
  facts = { standby: false, unlisted: [], pending: 0 };
  ops.attempted(event, 'published', 0);
  facts = { standby: false, unlisted: [], pending: 3 };
  assert.ok(ops.readiness().ready, 'the lists published: changes pending since do not matter');
  facts = { standby: false, unlisted: [], pending: 40 };
  ops.restarted(); // the events stream was recreated; the relist completed before anyone asked
  assert.not.ok(ops.readiness().ready, 'everything is published again before it is ready');
  facts = { standby: false, unlisted: [], pending: 0 };
  assert.ok(ops.readiness().ready);
});

Latch('alive while idle and while publishing makes progress', () => {
  const ops = new WatcherOps();
  ops.attach(() => ({ standby: false, unlisted: [], pending: 1 }));
  ops.queued(1);
  assert.ok(ops.alive());
  ops.attempted(event, 'failed', 1);
  assert.ok(ops.alive());
});
Latch('a standby (another watcher holds the lease) is ready: a rolling update can replace it', () => {
  const ops = new WatcherOps();
  let facts: WatcherOpsFacts = { standby: true, unlisted: ['Pod', 'Namespace', 'NetworkPolicy'], pending: 0 };
  ops.attach(() => facts);
  assert.equal(ops.readiness(), { ready: true, reason: 'standby: another watcher holds the lease' });
  facts = { ...facts, standby: false }; // it took the lease over: ready again only once its lists are published
  assert.not.ok(ops.readiness().ready);
});
Latch.run();
