import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ProgressClock, applierReadiness, compilerReadiness, earliest, implementationDelaySeconds, isAlive, parseReceivedAt, receivedAtText, watcherReadiness,
  type Readiness,
} from '../src/ops/index.js';

/** Runs a table of readiness cases: each names the verdict and what the reason must say. */
function readinessTable<F>(name: string, decide: (facts: F) => Readiness, cases: Array<[name: string, facts: F, ready: boolean, reason: RegExp]>): void {
  const s = suite(name);
  for (const [caseName, facts, ready, reason] of cases)
    s(caseName, () => {
      const r = decide(facts);
      assert.is(r.ready, ready);
      assert.match(r.reason, reason);
    });
  s.run();
}

readinessTable('watcherReadiness', watcherReadiness, [
  ['a kind not listed yet: not ready, and it is named', { unlisted: ['Pod'], pending: 0, listsPublished: false }, false, /first list of Pod/],
  ['every kind listed, the lists still publishing: not ready', { unlisted: [], pending: 12, listsPublished: false }, false, /12 events pending/],
  ['every kind listed, nothing pending: ready', { unlisted: [], pending: 0, listsPublished: true }, true, /nothing pending/],
  ['lists published once, changes pending since: still ready', { unlisted: [], pending: 3, listsPublished: true }, true, /3 changes pending/],
  ['a relist after the stream was recreated: not ready again', { unlisted: ['Namespace', 'Pod'], pending: 0, listsPublished: true }, false, /Namespace, Pod/],
]);

readinessTable('compilerReadiness', compilerReadiness, [
  ['catching up: not ready, with where the backlog ends', { restarting: false, caughtUp: false, evaluatedSeq: 40, backlogEnd: 900 }, false, /backlog ends at 900/],
  ['caught up: ready', { restarting: false, caughtUp: true, evaluatedSeq: 900, backlogEnd: 900 }, true, /caught up/],
  ['the events stream was recreated: not ready until the new pass catches up', { restarting: true, caughtUp: true, evaluatedSeq: 900, backlogEnd: 900 }, false, /recreated/],
]);

const v = (epoch: string, seq: number) => ({ epoch, seq });
readinessTable('applierReadiness', applierReadiness, [
  ['not following yet, even with rules in force from the state file: not ready', { following: false, newest: v('e1', 5), inForce: v('e1', 5) }, false, /not following/],
  ['following, nothing published for the node: ready (nothing to enforce)', { following: true, newest: undefined, inForce: undefined }, true, /no rule set published/],
  ['the newest rule set in force: ready', { following: true, newest: v('e1', 7), inForce: v('e1', 7) }, true, /e1\/7 in force/],
  ['an older one in force (the newest failed to apply): not ready', { following: true, newest: v('e1', 9), inForce: v('e1', 7) }, false, /e1\/9 not in force/],
  ['nothing in force yet: not ready', { following: true, newest: v('e1', 9), inForce: undefined }, false, /not in force/],
  ['the newest from a newer epoch than the one in force: not ready', { following: true, newest: v('e2', 1), inForce: v('e1', 70) }, false, /e2\/1 not in force/],
]);

const Alive = suite('isAlive and ProgressClock');
Alive('idle is alive, however long', () => assert.ok(isAlive({ busySinceMs: undefined, nowMs: 1e12, stuckAfterMs: 1000 })));
Alive('busy without progress for longer than the limit is not alive', () => assert.not.ok(isAlive({ busySinceMs: 0, nowMs: 1001, stuckAfterMs: 1000 })));
Alive('busy within the limit is alive', () => assert.ok(isAlive({ busySinceMs: 0, nowMs: 1000, stuckAfterMs: 1000 })));
Alive('progress restarts the wait while work is left, and ends it when none is', () => {
  let now = 100;
  const clock = new ProgressClock(() => now);
  clock.busy();
  now = 200;
  clock.busy(); // more work does not move the start
  assert.is(clock.busySinceMs, 100);
  clock.progress(true);
  assert.is(clock.busySinceMs, 200);
  clock.progress(false);
  assert.is(clock.busySinceMs, undefined);
});
Alive.run();

const ReceivedAt = suite('the receive-time header');
const headerCases: Array<[text: string | undefined, expected: number | undefined]> = [
  ['1764800000000', 1764800000000], [receivedAtText(1764800000000.7), 1764800000000],
  [undefined, undefined], ['', undefined], ['0', undefined], ['-5', undefined], ['1.5e12', undefined], ['12 34', undefined],
  ['1764800000000\n', undefined], ['9999999999999999', undefined], ['0x10', undefined],
];
for (const [text, expected] of headerCases)
  ReceivedAt(`${JSON.stringify(text)} -> ${expected ?? 'not timed'}`, () => assert.is(parseReceivedAt(text), expected));
ReceivedAt('earliest of known times; an unknown one is ignored', () => {
  assert.is(earliest(5, 3), 3);
  assert.is(earliest(undefined, 3), 3);
  assert.is(earliest(5, undefined), 5);
  assert.is(earliest(undefined, undefined), undefined);
});
ReceivedAt('the delay in seconds; none without a time or with one in the future (clock skew)', () => {
  assert.is(implementationDelaySeconds(1_000, 3_500), 2.5);
  assert.is(implementationDelaySeconds(undefined, 3_500), undefined);
  assert.is(implementationDelaySeconds(4_000, 3_500), undefined);
});
ReceivedAt.run();
