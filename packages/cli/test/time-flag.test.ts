import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTimeFlag } from '../src/time-flag.js';
import { safeText } from '../src/safe-text.js';

const Time = suite('parseTimeFlag: the moments --at and --since name');
const NOW = Date.parse('2026-12-03T12:30:00Z');
const cases: Array<[text: string, expected: string | 'usage']> = [
  ['2026-12-03T12:03:00Z', '2026-12-03T12:03:00.000Z'],
  ['2026-12-03T13:03:00+01:00', '2026-12-03T12:03:00.000Z'],
  ['2026-12-03T12:03:00.123456789Z', '2026-12-03T12:03:00.123Z'],
  ['12:03', '2026-12-03T12:03:00.000Z'],
  ['12:31:05', '2026-12-02T12:31:05.000Z'],
  ['15m', '2026-12-03T12:15:00.000Z'],
  ['2h', '2026-12-03T10:30:00.000Z'],
  ['1d', '2026-12-02T12:30:00.000Z'],
  ['yesterday', 'usage'],
  ['25:00', 'usage'],
  ['2026-12-03', 'usage'],
  ['2026-13-03T12:03:00Z', 'usage'],
  ['-5m', 'usage'],
];
for (const [text, expected] of cases)
  Time(`${JSON.stringify(text)} -> ${expected}`, () => {
    if (expected === 'usage') assert.throws(() => parseTimeFlag('--at', text, NOW), /--at/);
    else assert.is(new Date(parseTimeFlag('--at', text, NOW)).toISOString(), expected);
  });

Time('names printed for people cannot forge lines', () => {
  assert.is(safeText('x/a\nnode-2  in sync'), 'x/a\\nnode-2  in sync');
  assert.is(safeText('ok-name.1'), 'ok-name.1');
  assert.not.match(safeText('a\u2028b\u001b[31m'), /[\u2028\u001b]/);
});

Time.run();
