import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matches, parseSelector, tableFrom } from '../src/index.js';
import type { Rejection } from '@knp/shared';

const Matches = suite('label selectors');
const labels = tableFrom({ app: 'web', tier: 'front' });
const cases: Array<[string, unknown, boolean]> = [
  ['an empty selector selects everything', {}, true],
  ['matchLabels equal', { matchLabels: { app: 'web' } }, true],
  ['matchLabels differ', { matchLabels: { app: 'db' } }, false],
  ['matchLabels all must hold', { matchLabels: { app: 'web', tier: 'back' } }, false],
  ['In holds', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, true],
  ['In fails on an absent key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
  ['NotIn holds on an absent key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
  ['NotIn fails on a listed value', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
  ['Exists holds', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
  ['DoesNotExist fails', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
  ['matchLabels and matchExpressions together', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
];
for (const [name, selector, expected] of cases)
  Matches(name, () => {
    const problems: Rejection[] = [];
    const parsed = parseSelector(selector, 'spec.podSelector', 'NetworkPolicy x/p', problems);
    assert.equal(problems, []);
    assert.is(matches(parsed!, labels), expected);
  });

const invalid: Array<[string, unknown, string]> = [
  ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, 'spec.podSelector.matchExpressions[0].operator'],
  ['In without values', { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, 'spec.podSelector.matchExpressions[0].values'],
  ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'spec.podSelector.matchExpressions[0].values'],
  ['a label value that is not a string', { matchLabels: { a: 1 } }, 'spec.podSelector.matchLabels["a"]'],
  ['a matchLabels key that is not a label key', JSON.parse('{"matchLabels": {"__proto__": "x"}}'), 'spec.podSelector.matchLabels'],
  ['a matchLabels value that is not a label value', { matchLabels: { a: 'x y' } }, 'spec.podSelector.matchLabels["a"]'],
  ['an expression key that is not a label key', { matchExpressions: [{ key: 'a b', operator: 'Exists' }] }, 'spec.podSelector.matchExpressions[0].key'],
  ['an expression value that is not a label value', { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', '-bad'] }] }, 'spec.podSelector.matchExpressions[0].values[1]'],
];
for (const [name, selector, field] of invalid)
  Matches(`${name} is rejected naming ${field}`, () => {
    const problems: Rejection[] = [];
    assert.is(parseSelector(selector, 'spec.podSelector', 'NetworkPolicy x/p', problems), undefined);
    assert.is(problems[0]?.field, field);
    assert.is(problems[0]?.object, 'NetworkPolicy x/p');
  });
Matches('a label "constructor" or "toString" matches only when the object has it', () => {
  const p: Rejection[] = [];
  const exists = parseSelector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, 'f', 'o', p)!;
  const absent = parseSelector({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, 'f', 'o', p)!;
  assert.not.ok(matches(exists, labels));
  assert.ok(matches(absent, labels));
  assert.ok(matches(exists, tableFrom({ constructor: 'x' })));
});

Matches('equal selectors written differently share one key', () => {
  const p: Rejection[] = [];
  const a = parseSelector({ matchLabels: { b: '2', a: '1' } }, 'f', 'o', p)!;
  const b = parseSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }], matchLabels: { b: '2' } }, 'f', 'o', p)!;
  assert.is(a.key, b.key);
});
Matches.run();
