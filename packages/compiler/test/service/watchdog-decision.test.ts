import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Phase } from '../../src/service/compiler-state.js';
import { consumerStall, isNewEpoch, stallThresholdMs, type StallFacts, type StallVerdict } from '../../src/service/watchdog-decision.js';

const Stall = suite('consumerStall: whether the events consumer stalled');
const waitingLong: StallFacts = { phase: 'running', waiting: true, reopening: false, idleMs: 5_000, thresholdMs: 2_000, consumedSeq: 10, lastSeq: undefined };
const cases: Array<[what: string, facts: StallFacts, expected: StallVerdict]> = [
  ['waiting past the threshold: ask the stream how far it goes', waitingLong, 'ask-the-stream'],
  ['the stream holds more than was consumed: stalled', { ...waitingLong, lastSeq: 11 }, 'stalled'],
  ['the stream holds nothing more: a quiet stream, fine', { ...waitingLong, lastSeq: 10 }, 'fine'],
  ['the stream could not be asked (read as 0): fine', { ...waitingLong, lastSeq: 0 }, 'fine'],
  ['waiting, not long yet: fine', { ...waitingLong, idleMs: 1_999 }, 'fine'],
  ['handling a message, not waiting for one: fine however long', { ...waitingLong, waiting: false, lastSeq: 99 }, 'fine'],
  ['already reopening: fine', { ...waitingLong, reopening: true, lastSeq: 99 }, 'fine'],
  ['stopping: fine', { ...waitingLong, phase: 'stopping', lastSeq: 99 }, 'fine'],
  ['starting over on a new epoch: fine', { ...waitingLong, phase: 'restarting', lastSeq: 99 }, 'fine'],
];
for (const [what, facts, expected] of cases) Stall(what, () => assert.is(consumerStall(facts), expected));
Stall('the threshold is two heartbeats, at least 2 s', () => {
  assert.equal([200, 1_000, 10_000].map(stallThresholdMs), [2_000, 2_000, 20_000]);
});
Stall.run();

const Epoch = suite('isNewEpoch: whether to start over from scratch');
const epochs: Array<[what: string, phase: Phase, current: string | undefined, expected: boolean]> = [
  ['the same epoch: go on', 'running', 'e1', false],
  ['another epoch (the stream was recreated): start over', 'running', 'e2', true],
  ['no events stream (deleted): start over', 'running', undefined, true],
  ['another epoch while already starting over: nothing more to do', 'restarting', 'e2', false],
  ['another epoch while stopping: nothing to do', 'stopping', 'e2', false],
];
for (const [what, phase, current, expected] of epochs) Epoch(what, () => assert.is(isNewEpoch({ phase, epoch: 'e1', current }), expected));
Epoch.run();
