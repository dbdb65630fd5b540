import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIRM_ROUNDS, absenceVerdict, type AbsenceVerdict } from '../src/absence.js';

// [published objects, rounds in a row found absent, group/version served without the kind, verdict]
const table: ReadonlyArray<readonly [number, number, boolean, AbsenceVerdict]> = [
  [0, 1, false, 'sync-empty'], // a cluster without the CRD: the empty sync opens the compilers' publish gate
  [0, 1, true, 'sync-empty'],
  [3, 1, false, 'wait'], // one transient 404 (an API server restarting): publish nothing
  [3, CONFIRM_ROUNDS, false, 'sync-empty'], // confirmed: delete those published
  [3, 7, false, 'sync-empty'],
  [3, 1, true, 'keep'], // the group/version is served, the kind not: never delete
  [3, 9, true, 'keep'],
];

test('absenceVerdict: an empty sync only with nothing published or the removal confirmed', () => {
  assert.is(CONFIRM_ROUNDS, 2);
  for (const [published, rounds, groupServed, verdict] of table)
    assert.is(absenceVerdict(published, { rounds, groupServed }), verdict, `${published} published, ${rounds} rounds, group served ${groupServed}`);
});

test.run();
