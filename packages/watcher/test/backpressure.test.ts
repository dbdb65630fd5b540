import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nextFlow, type Flow } from '../src/backpressure.js';

const B = suite('nextFlow');
// [flow, pending, maxQueue, next]
const table: Array<[Flow, number, number, Flow]> = [
  ['flowing', 0, 100, 'flowing'],
  ['flowing', 100, 100, 'flowing'], // at the bound: still flowing
  ['flowing', 101, 100, 'paused'], // over it: stop consuming
  ['paused', 101, 100, 'paused'],
  ['paused', 51, 100, 'paused'], // hysteresis: not until half is published
  ['paused', 50, 100, 'flowing'],
  ['paused', 0, 100, 'flowing'],
  ['paused', 5, 11, 'flowing'], // half rounds down
  ['paused', 6, 11, 'paused'],
];
for (const [flow, pending, max, next] of table) B(`${flow} with ${pending}/${max} pending -> ${next}`, () => assert.is(nextFlow(flow, pending, max), next));
B('a queue filling and draining pauses once and resumes once', () => {
  let flow: Flow = 'flowing';
  const seen: Flow[] = [];
  for (const pending of [0, 500, 1001, 1500, 900, 501, 500, 200, 1000]) {
    flow = nextFlow(flow, pending, 1000);
    seen.push(flow);
  }
  assert.equal(seen, ['flowing', 'flowing', 'paused', 'paused', 'paused', 'paused', 'flowing', 'flowing', 'flowing']);
});
B.run();
