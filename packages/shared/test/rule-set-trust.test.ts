import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, epochInstant, parseStatement, sameEpoch, statementText } from '../src/index.js';

const Epochs = suite('epochs are compared as instants, never as text');
const T = '2026-12-04T01:30:05.123456789Z';
const compareCases: Array<[name: string, a: string, b: string, expected: -1 | 0 | 1]> = [
  ['a later stream is a newer epoch', '2026-12-04T01:30:05.2Z', T, 1],
  ['nanoseconds count', '2026-12-04T01:30:05.123456790Z', T, 1],
  ['the same instant with another offset is the same epoch', '2026-12-04T02:30:05.123456789+01:00', T, 0],
  ['"zzzz" sorts below every real epoch (as text it outranked them all)', 'zzzz', T, -1],
  ['an empty epoch sorts below a real one', '', T, -1],
  ['a date without a time is no epoch', '2026-12-04', T, -1],
];
for (const [name, a, b, expected] of compareCases)
  Epochs(name, () => assert.is(Math.sign(compareVersions({ epoch: a, seq: 5 }, { epoch: b, seq: 5 })), expected));
Epochs('sameEpoch holds only for real, equal instants', () => {
  assert.ok(sameEpoch(T, '2026-12-04T02:30:05.123456789+01:00'));
  assert.not.ok(sameEpoch('zzzz', 'zzzz'), 'text that is no time is no epoch, even equal to itself');
  assert.is(epochInstant('2026-13-40T99:00:00Z'), undefined);
});
Epochs.run();

const Statement = suite('parseStatement: exactly {node, epoch, seq, contentHash}');
const hash = 'a'.repeat(64);
const good = statementText({ node: 'n1', epoch: T, seq: 3, contentHash: hash });
const statementCases: Array<[name: string, text: string, ok: boolean]> = [
  ['the canonical statement', good, true],
  ['an extra field', JSON.stringify({ node: 'n1', epoch: T, seq: 3, contentHash: hash, trust: 'me' }), false],
  ['a seq that is no safe integer', JSON.stringify({ node: 'n1', epoch: T, seq: 2 ** 53, contentHash: hash }), false],
  ['a fractional seq', JSON.stringify({ node: 'n1', epoch: T, seq: 1.5, contentHash: hash }), false],
  ['a hash that is no sha256', JSON.stringify({ node: 'n1', epoch: T, seq: 3, contentHash: 'x' }), false],
  ['a list', '[1,2]', false],
  ['not JSON', '{"node":', false],
];
for (const [name, text, ok] of statementCases) Statement(`${name} -> ${ok ? 'parsed' : 'refused'}`, () => assert.is(parseStatement(text) !== undefined, ok));
Statement.run();
