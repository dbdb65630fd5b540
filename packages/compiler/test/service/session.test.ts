import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FoldEvent } from '../../src/fold-event.js';
import { namespace, pod } from '@knp/testing';
import { emptyState, eventsFromObjects, nodesOf } from '../../src/index.js';
import type { RulesStore } from '../../src/service/rules-store.js';
import { consume, newSession, takeEvaluationInput, type Session } from '../../src/service/session.js';

const Pass = suite('Session: what one pass over the events stream takes in');
// the bookkeeping never touches the rules stream
const rules = {} as RulesStore;
const events: FoldEvent[] = eventsFromObjects([namespace('a'), pod({ ns: 'a', name: 'p1', node: 'n1', ip: '10.0.0.1' }), pod({ ns: 'a', name: 'p2', node: 'n2', ip: '10.0.0.2' })])
  .events.map((e, i) => ({ ...e, seq: i + 1 }));
const start = (): Session => newSession('e1', rules, emptyState('e1'), 3, 0);

Pass('a new pass starts at its state\'s sequence, not caught up, holding nothing', () => {
  const s = newSession('e1', rules, { ...emptyState('e1'), seq: 7 }, 9, 0);
  assert.equal([s.startedFromSeq, s.consumedSeq, s.evaluatedSeq, s.lastSnapshotSeq, s.backlogEnd, s.caughtUp, s.view.size], [7, 7, 7, 7, 9, false, 0]);
});

Pass('catching up, events are counted, not timed, and folded only when an evaluation takes them', () => {
  const s = start();
  events.forEach((event, i) => consume(s, { seq: event.seq! }, event, 1_000 + i));
  assert.equal([s.consumedSeq, s.backlogCount, s.arrivals.length, s.state.seq], [3, 3, 0, 0]);
  const input = takeEvaluationInput(s);
  assert.equal([input.at.seq, input.coveredSeq, input.backlog, input.arrivals.length], [3, 3, 3, 0]);
  assert.equal(nodesOf(input.at), ['n1', 'n2']);
  assert.equal([s.backlogCount, s.unfolded.length], [0, 0], 'the next evaluation starts from nothing');
});

Pass('following, each event is kept with its arrival time', () => {
  const s = start();
  s.caughtUp = true;
  consume(s, { seq: 1 }, events[0], 500);
  assert.equal(s.arrivals.map((a) => [a.event.seq, a.arrivedAt]), [[1, 500]]);
  assert.is(s.backlogCount, 0);
});

Pass('an unreadable message or a part of a large event only moves the consumed sequence', () => {
  const s = start();
  consume(s, { seq: 4 }, undefined, 0);
  const input = takeEvaluationInput(s);
  assert.equal([s.consumedSeq, input.coveredSeq, input.backlog, input.at.seq], [4, 4, 0, 0]);
});

Pass('messages consumed after an evaluation took its input belong to the next one', () => {
  const s = start();
  s.caughtUp = true;
  consume(s, { seq: 1 }, events[0], 0);
  const first = takeEvaluationInput(s);
  consume(s, { seq: 2 }, events[1], 0);
  assert.equal([first.at.seq, first.arrivals.length, s.arrivals.length, s.state.seq], [1, 1, 1, 1]);
  assert.is(takeEvaluationInput(s).at.seq, 2);
});
Pass.run();
