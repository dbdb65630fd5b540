import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Phase } from '../../src/service/compiler-state.js';
import { afterMessage, isIdleEvaluationDue, isStreamHead, type FollowFacts, type NextStep } from '../../src/service/follow-decision.js';

type Message = { seq: number; pending: number };
const catchingUp: FollowFacts = { caughtUp: false, backlogEnd: 100, unevaluated: 0, maxBatchEvents: 10 };
const following: FollowFacts = { ...catchingUp, caughtUp: true, unevaluated: 1 };

const Head = suite('isStreamHead: whether a consumed message is the head of the stream');
const heads: Array<[what: string, message: Message, facts: FollowFacts, expected: boolean]> = [
  ['catching up, in the middle of the backlog: not yet', { seq: 50, pending: 50 }, catchingUp, false],
  ['catching up, the backlog\'s last message, though the server still counts a few pending (nats-server 2.9)', { seq: 100, pending: 3 }, catchingUp, true],
  ['catching up, past the backlog\'s end (published meanwhile)', { seq: 101, pending: 2 }, catchingUp, true],
  ['catching up, nothing pending before the backlog\'s end (the stream was trimmed)', { seq: 60, pending: 0 }, catchingUp, true],
  ['following, nothing pending', { seq: 120, pending: 0 }, following, true],
  ['following, a few pending: the backlog\'s end no longer counts', { seq: 120, pending: 2 }, following, false],
];
for (const [what, message, facts, expected] of heads) Head(what, () => assert.is(isStreamHead(message, facts), expected));
Head.run();

const After = suite('afterMessage: what the follow loop does after a message');
const steps: Array<[what: string, message: Message, facts: FollowFacts, expected: NextStep]> = [
  ['catching up, in the middle of the backlog: read on, no evaluation before the backlog is folded', { seq: 50, pending: 50 }, catchingUp, 'read-on'],
  ['catching up, however many events piled up: read on', { seq: 50, pending: 50 }, { ...catchingUp, unevaluated: 1_000 }, 'read-on'],
  ['catching up, at the backlog\'s end: evaluate', { seq: 100, pending: 4 }, catchingUp, 'evaluate'],
  ['following, at the head: evaluate', { seq: 120, pending: 0 }, following, 'evaluate'],
  ['following, more pending, batch not full: evaluate if nothing follows soon', { seq: 120, pending: 5 }, following, 'evaluate-when-idle'],
  ['following, a full batch with more pending: evaluate now', { seq: 130, pending: 500 }, { ...following, unevaluated: 10 }, 'evaluate'],
];
for (const [what, message, facts, expected] of steps) After(what, () => assert.is(afterMessage(message, facts), expected));
After.run();

const Idle = suite('isIdleEvaluationDue: the idle timer fired');
const idle: Array<[what: string, phase: Phase, consumedSeq: number, evaluatedSeq: number, expected: boolean]> = [
  ['running, consumed past the last evaluation: evaluate', 'running', 12, 10, true],
  ['running, nothing consumed since: nothing to do', 'running', 10, 10, false],
  ['stopping: never', 'stopping', 12, 10, false],
  ['starting over on a new epoch: never', 'restarting', 12, 10, false],
];
for (const [what, phase, consumedSeq, evaluatedSeq, expected] of idle) Idle(what, () => assert.is(isIdleEvaluationDue({ phase, consumedSeq, evaluatedSeq }), expected));
Idle.run();
