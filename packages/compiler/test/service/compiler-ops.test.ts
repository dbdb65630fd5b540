import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FoldEvent } from '../../src/fold-event.js';
import { rejectReason, type RejectReason } from '../../src/service/compiler-ops.js';

const Reason = suite('rejectReason: the label knp_compiler_events_rejected_total counts a message under');
const event = {} as FoldEvent;
const rejection = { object: 'Pod x/a', field: 'metadata.labels', reason: 'not a label value' };
const refusal = { reason: 'untrusted-key' } as unknown as NonNullable<Parameters<typeof rejectReason>[0]['refusal']>;
const cases: Array<[name: string, consumed: Parameters<typeof rejectReason>[0], admitted: FoldEvent | undefined, expected: RejectReason | undefined]> = [
  ['a clean event admitted is not rejected', { event, rejections: [] }, event, undefined],
  ['a part of a large event (no event, nothing rejected) is not rejected', { event: undefined, rejections: [] }, undefined, undefined],
  ['an event skipped for its input is "skipped"', { event: undefined, rejections: [rejection] }, undefined, 'skipped'],
  ['an event kept with fields rejected is "field-rejected"', { event, rejections: [rejection] }, event, 'field-rejected'],
  ['a message that could not be read at all is "unreadable"', { event: undefined, rejections: [rejection], unreadable: true }, undefined, 'unreadable'],
  ['a message whose signature was refused is "refused"', { event: undefined, rejections: [], refusal }, undefined, 'refused'],
  ['a decoded event admission refused (its origin) is "refused"', { event, rejections: [] }, undefined, 'refused'],
];
for (const [name, consumed, admitted, expected] of cases) Reason(name, () => assert.is(rejectReason(consumed, admitted), expected));
Reason.run();
