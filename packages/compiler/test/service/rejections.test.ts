import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_RECORDED_REJECTIONS, STATUS_SCHEMA, type Rejection } from '@knp/shared';
import { rejectionsRecord } from '../../src/service/rejections.js';

const Record = suite('rejectionsRecord: the compiler.rejections record');
const rejection = (i: number): Rejection => ({ object: `NetworkPolicy ns/p${i}`, field: 'spec.ingress[0].from[0].ipBlock.cidr', reason: `"10.0.${i}/8" is not a CIDR` });

Record('names epoch and sequence and holds every rejection', () => {
  const all = [rejection(1), rejection(2)];
  assert.equal(rejectionsRecord('e1', 42, all).record, { schema: STATUS_SCHEMA, epoch: 'e1', seq: 42, count: 2, rejections: all });
});
Record(`counts them all but keeps the first ${MAX_RECORDED_REJECTIONS}`, () => {
  const all = Array.from({ length: MAX_RECORDED_REJECTIONS + 5 }, (_, i) => rejection(i));
  const { record } = rejectionsRecord('e1', 1, all);
  assert.is(record.count, MAX_RECORDED_REJECTIONS + 5);
  assert.equal(record.rejections, all.slice(0, MAX_RECORDED_REJECTIONS));
});
Record('the text changes with the rejections, not with the sequence (so a new event alone writes nothing)', () => {
  const a = rejectionsRecord('e1', 1, [rejection(1)]), b = rejectionsRecord('e1', 2, [rejection(1)]), c = rejectionsRecord('e1', 2, [rejection(2)]);
  assert.is(a.text, b.text);
  assert.is.not(a.text, c.text);
});
Record.run();
