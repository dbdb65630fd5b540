import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isCaughtUpTo, releaseWaiters } from '../../src/service/caught-up.js';

const CaughtUp = suite('isCaughtUpTo: when caughtUp(seq) is answered at once');
const cases: Array<[what: string, caughtUp: boolean, evaluatedSeq: number, seq: number, expected: boolean]> = [
  ['the backlog was evaluated up to seq: yes', true, 10, 10, true],
  ['evaluated past seq: yes', true, 12, 10, true],
  ['evaluated short of seq: wait', true, 9, 10, false],
  ['not caught up (a new pass starting), even with seq covered: wait', false, 12, 10, false],
];
for (const [what, caughtUp, evaluatedSeq, seq, expected] of cases) CaughtUp(what, () => assert.is(isCaughtUpTo({ caughtUp, evaluatedSeq }, seq), expected));

CaughtUp('an evaluation releases the waiters it covers and keeps the others in order', () => {
  const { ready, waiting } = releaseWaiters([{ seq: 12 }, { seq: 5 }, { seq: 10 }, { seq: 11 }], 10);
  assert.equal(ready, [{ seq: 5 }, { seq: 10 }]);
  assert.equal(waiting, [{ seq: 12 }, { seq: 11 }]);
});
CaughtUp.run();
