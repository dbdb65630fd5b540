import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { admitOrigin, guardMarks, judgeOrigin, publishGate, resumeState } from '../src/input/origin-guard.js';
import { emptyState, evolveAll, type ClusterState } from '../src/index.js';
import type { ObjectKind } from '@knp/shared';
import type { FoldEvent } from '../src/fold-event.js';
import { stateFromJson } from '../src/state-json.js';

const Guard = suite('replay guard and publish gate');
const o = (start: number, counter: number, keyId = 'aaaaaaaaaaaaaaaa') => ({ keyId, start, counter });

Guard('the first event of a key, a higher counter or a newer instance is accepted', () => {
  assert.is(judgeOrigin(undefined, o(5, 1)), undefined);
  assert.is(judgeOrigin({ start: 5, counter: 1 }, o(5, 2)), undefined);
  assert.is(judgeOrigin({ start: 5, counter: 900 }, o(6, 1)), undefined, 'a restarted watcher counts from 1 again');
});

Guard('the same event again, an older one, or any event of an older instance is refused as replayed', () => {
  for (const [last, origin] of [[{ start: 5, counter: 3 }, o(5, 3)], [{ start: 5, counter: 3 }, o(5, 2)], [{ start: 6, counter: 1 }, o(5, 99)]] as const)
    assert.is(judgeOrigin(last, origin)?.reason, 'replayed', JSON.stringify(origin));
});

Guard('marks move on only with accepted origins, per key; an unsigned event is not guarded', () => {
  const marks = guardMarks(emptyState());
  assert.is(admitOrigin(marks, o(5, 1)), undefined);
  assert.is(admitOrigin(marks, o(5, 1))?.reason, 'replayed');
  assert.is(admitOrigin(marks, o(4, 9))?.reason, 'replayed');
  assert.equal(marks.get('aaaaaaaaaaaaaaaa'), { start: 5, counter: 1 }, 'a refused origin moves nothing');
  assert.is(admitOrigin(marks, o(1, 1, 'bbbbbbbbbbbbbbbb')), undefined, 'another key has its own mark');
  assert.is(admitOrigin(marks, undefined), undefined);
});

const sync = (kind: ObjectKind, seq: number, chunks = 1): FoldEvent => ({ op: 'sync', kind, syncId: `s-${kind}`, chunk: 0, chunks, uids: [], seq, origin: o(5, seq) });

Guard('folded origins and completed syncs are kept in the state, and survive a snapshot', () => {
  const state = evolveAll(emptyState('e', true), [sync('Namespace', 1), sync('Pod', 2)]);
  assert.equal({ ...state.trust.origins }, { aaaaaaaaaaaaaaaa: { start: 5, counter: 2 } });
  assert.equal(Object.keys(state.trust.synced).sort(), ['Namespace', 'Pod']);
  const back: ClusterState = stateFromJson(JSON.parse(JSON.stringify(state)));
  assert.equal(back.trust, state.trust);
  assert.is(Object.getPrototypeOf(back.trust.origins), null, 'key ids from outside are keys of a table without prototype');
  assert.equal(guardMarks(back).get('aaaaaaaaaaaaaaaa'), { start: 5, counter: 2 });
});

Guard('publish gate: unsigned never waits; signed waits for a signed fold with a full sync of every kind', () => {
  assert.equal(publishGate(false, emptyState('e')), []);
  assert.equal(publishGate(true, emptyState('e', false)), ['Namespace', 'Pod', 'NetworkPolicy', 'Node', 'ClusterNetworkPolicy'], 'a state folded unsigned is never enough');
  const partial = evolveAll(emptyState('e', true), [sync('Namespace', 1), sync('Pod', 2), sync('Node', 3), sync('ClusterNetworkPolicy', 4)]);
  assert.equal(publishGate(true, partial), ['NetworkPolicy']);
  assert.equal(publishGate(true, evolveAll(partial, [sync('NetworkPolicy', 5, 2)])), ['NetworkPolicy'], 'a sync still missing chunks does not count');
  assert.equal(publishGate(true, evolveAll(partial, [sync('NetworkPolicy', 5)])), []);
});

Guard('a signed state resumed by a replica that does not require signatures is no longer signed', () => {
  const signed = evolveAll(emptyState('e', true), [sync('Namespace', 1)]);
  assert.is(resumeState(signed, true), signed);
  assert.is(resumeState(signed, false).trust.signed, false);
  assert.equal(resumeState(signed, false).trust.origins, signed.trust.origins, 'the guard is kept');
  assert.is(resumeState(emptyState('e'), true).trust.signed, false, 'never made signed by resuming');
});

Guard.run();
