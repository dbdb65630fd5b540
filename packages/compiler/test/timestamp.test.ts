import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTimestamp } from '../src/input/timestamp.js';

const Timestamp = suite('parseTimestamp');
const cases: Array<[input: unknown, expected: string | undefined]> = [
  ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z'],
  ['2026-01-02t03:04:05z', '2026-01-02T03:04:05Z'],
  ['2026-01-02T03:04:05.123456789Z', '2026-01-02T03:04:05Z'],
  ['2026-01-02T03:04:05+02:00', '2026-01-02T01:04:05Z'],
  ['2026-01-01T00:30:00-01:00', '2026-01-01T01:30:00Z'],
  ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
  ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00Z'],
  ['2026-02-29T00:00:00Z', undefined],
  ['2026-04-31T00:00:00Z', undefined],
  ['2026-13-01T00:00:00Z', undefined],
  ['2026-01-01T24:00:00Z', undefined],
  ['2026-01-01T00:60:00Z', undefined],
  ['2026-01-01T00:00:00', undefined],
  ['2026-01-01 00:00:00Z', undefined],
  ['2026-01-01T00:00:00+25:00', undefined],
  ['yesterday', undefined],
  ['', undefined],
  [`2026-01-01T00:00:00.${'1'.repeat(100)}Z`, undefined],
  [1767225600, undefined],
];
for (const [input, expected] of cases)
  Timestamp(`${JSON.stringify(input)?.slice(0, 40)} -> ${expected ?? 'rejected'}`, () => assert.is(parseTimestamp(input), expected));
Timestamp.run();
