import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CATCH_UP_SNAPSHOT_EVENTS, isSnapshotDue, type SnapshotFacts } from '../../src/service/snapshot-decision.js';

const Due = suite('isSnapshotDue: whether to write a snapshot now');
const following: SnapshotFacts = { caughtUp: true, snapshotting: false, foldedSeq: 1_000, lastSnapshotSeq: 0, msSinceSnapshot: 0, everyEvents: 1_000, everyMs: 300_000 };
const catchingUp: SnapshotFacts = { ...following, caughtUp: false };
const cases: Array<[what: string, facts: SnapshotFacts, expected: boolean]> = [
  ['following, the event count reached: due', following, true],
  ['following, one event short of the count: not yet', { ...following, foldedSeq: 999 }, false],
  ['following, the time reached with something new folded: due', { ...following, foldedSeq: 5, msSinceSnapshot: 300_000 }, true],
  ['nothing folded since the last snapshot, however long ago: never', { ...following, foldedSeq: 1_000, lastSnapshotSeq: 1_000, msSinceSnapshot: 1e9 }, false],
  ['one is being written: not another', { ...following, snapshotting: true }, false],
  ['counting turned off (0): only by time', { ...following, everyEvents: 0, foldedSeq: 1e9 }, false],
  ['time turned off (0): only by count', { ...following, everyMs: 0, foldedSeq: 5, msSinceSnapshot: 1e9 }, false],
  ['catching up, the usual count reached: not yet, encoding costs too much to do it that often', catchingUp, false],
  [`catching up, ${CATCH_UP_SNAPSHOT_EVENTS} events folded: due`, { ...catchingUp, foldedSeq: CATCH_UP_SNAPSHOT_EVENTS }, true],
  ['catching up, a count larger than the catch-up floor applies as it is', { ...catchingUp, everyEvents: 500_000, foldedSeq: 400_000 }, false],
  ['catching up, the time reached: not by time (the backlog decides)', { ...catchingUp, foldedSeq: 5, msSinceSnapshot: 1e9 }, false],
];
for (const [what, facts, expected] of cases) Due(what, () => assert.is(isSnapshotDue(facts), expected));
Due.run();
