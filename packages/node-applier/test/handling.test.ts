import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet } from '@knp/shared';
import type { ApplyOutcome } from '../src/applier.js';
import { UNREADABLE_REDELIVERIES, judgeHandled, type Handled, type Verdict } from '../src/service/handling.js';

const Judge = suite('judgeHandled: what the applier does after handling one rule set');
const RETRY_MS = 5_000;
const ruleSet = makeRuleSet({ node: 'node-1', pods: [], rules: [], sets: [] }, { epoch: 'e1', seq: 7 });
const done = (outcome: ApplyOutcome): Handled => ({ kind: 'done', ruleSet, outcome });
const unreadable = (chunkError: boolean, redeliveries: number): Handled => ({ kind: 'unreadable', err: new Error('part 2/3 missing'), chunkError, redeliveries });
const ack = { kind: 'ack' } as const;
const nak = { kind: 'nak', delayMs: RETRY_MS } as const;

const cases: Array<[what: string, handled: Handled, expected: Verdict]> = [
  ['an applied rule set is acked and recorded in force', done({ kind: 'applied', mode: 'full', attempts: 1, loadMs: 3, kernelMs: 1 }), { settle: ack, inForce: true }],
  ['the same content under a newer version is acked and recorded, no kernel write', done({ kind: 'unchanged' }), { settle: ack, inForce: true }],
  ['a version not newer than the rules in force (a redelivery, an out-of-order publish) is acked and changes nothing', done({ kind: 'stale', applied: ruleSet.version }), { settle: ack, inForce: false }],
  ['a failed apply is delivered again later and reported; the previous rules stay', { kind: 'failed', err: new Error('nft: syntax error'), version: ruleSet.version },
    { settle: nak, inForce: false, problem: { kind: 'apply-failed', message: 'nft: syntax error', version: ruleSet.version } }],
  ['a refused rule set is acked (it would be refused again) and reported with its version', { kind: 'refused', reason: 'wrong-node', detail: 'addressed to node "node-2"', version: ruleSet.version },
    { settle: ack, inForce: false, problem: { kind: 'refused', message: 'wrong-node: addressed to node "node-2"', version: ruleSet.version } }],
  ['a refused payload without a version is reported without one', { kind: 'refused', reason: 'malformed', detail: 'not JSON' }, { settle: ack, inForce: false, problem: { kind: 'refused', message: 'malformed: not JSON' } }],
  ['a rule set the renderer cannot print is acked, not retried every 5 s forever', { kind: 'refused', reason: 'unrenderable', detail: 'port 70000', version: ruleSet.version },
    { settle: ack, inForce: false, problem: { kind: 'refused', message: 'unrenderable: port 70000', version: ruleSet.version } }],
  ['a missing chunk on the first delivery is tried again, not reported yet', unreadable(true, 0), { settle: nak, inForce: false }],
  [`a missing chunk on redelivery ${UNREADABLE_REDELIVERIES - 1} is tried again`, unreadable(true, UNREADABLE_REDELIVERIES - 1), { settle: nak, inForce: false }],
  [`a missing chunk on redelivery ${UNREADABLE_REDELIVERIES} is reported and acked: move on`, unreadable(true, UNREADABLE_REDELIVERIES),
    { settle: ack, inForce: false, problem: { kind: 'unreadable', message: 'part 2/3 missing' } }],
  ['any other read error is reported and acked at once', unreadable(false, 0), { settle: ack, inForce: false, problem: { kind: 'unreadable', message: 'part 2/3 missing' } }],
  ['a message with nothing to apply is acked', { kind: 'empty' }, { settle: ack, inForce: false }],
];
for (const [what, handled, expected] of cases) Judge(what, () => assert.equal(judgeHandled(handled, RETRY_MS), expected));
Judge.run();
