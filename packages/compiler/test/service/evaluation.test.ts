import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeEvaluation, evaluationScope, nodesToCompile, purgedNodes, type EvaluationFacts, type EvaluationScope, type NodeSources } from '../../src/service/evaluation.js';

const Scope = suite('evaluationScope: which nodes an evaluation compiles');
const scopes: Array<[what: string, caughtUp: boolean, events: number, expected: EvaluationScope]> = [
  ['the first evaluation after the backlog: every node known anywhere', false, 5_000, 'backlog'],
  ['the first evaluation, nothing to replay (a snapshot at the head): still every node', false, 0, 'backlog'],
  ['following, no event came (only parts or unreadable messages): the dirty nodes', true, 0, 'dirty'],
  ['following, one event: the nodes it affects and the dirty ones', true, 1, 'affected'],
  ['following, two events: every node', true, 2, 'all'],
  ['following, a full batch: every node', true, 10_000, 'all'],
];
for (const [what, caughtUp, events, expected] of scopes) Scope(what, () => assert.is(evaluationScope(caughtUp, events), expected));
Scope.run();

const Nodes = suite('nodesToCompile: the node names of a scope, sorted and each once');
const notWanted = (what: string): never => assert.unreachable(`${what} computed for nothing`) as never;
/** Each source names its own nodes, plus `shared`, which several name; a costly source not wanted fails the test. */
const sources = (wanted: ReadonlyArray<'known' | 'affected'>): NodeSources => ({
  known: () => (wanted.includes('known') ? ['k2', 'k1', 'shared'] : notWanted('nodes of the state')),
  held: ['h1', 'shared'],
  dirty: ['d1', 'shared'],
  published: ['p1', 'shared'],
  affected: () => (wanted.includes('affected') ? ['a1', 'shared'] : notWanted('affected nodes')),
});
const nodeCases: Array<[what: string, scope: EvaluationScope, wanted: ReadonlyArray<'known' | 'affected'>, expected: string[]]> = [
  ['backlog: nodes of the state, held and on the rules stream (a node whose pods all left still gets its empty rule set)', 'backlog', ['known'], ['h1', 'k1', 'k2', 'p1', 'shared']],
  ['dirty: only the dirty nodes, computing nothing', 'dirty', [], ['d1', 'shared']],
  ['affected: the nodes the event affects and the dirty ones, never every node of the state', 'affected', ['affected'], ['a1', 'd1', 'shared']],
  ['all: nodes of the state, held and dirty, without computing affected nodes', 'all', ['known'], ['d1', 'h1', 'k1', 'k2', 'shared']],
];
for (const [what, scope, wanted, expected] of nodeCases) Nodes(what, () => assert.equal(nodesToCompile(scope, sources(wanted)), expected));
Nodes.run();

const Describe = suite('describeEvaluation: what the evaluation record says');
const facts: EvaluationFacts = { seq: 42, caughtUp: true, arrivals: [100, 130], backlog: 0, compiled: 3, published: 1, compileMs: 7, startedAt: 140, endedAt: 150 };
Describe('following: the events evaluated, and each one\'s wait from arrival to the end of the evaluation', () => {
  assert.equal(describeEvaluation(facts), { seq: 42, events: 2, nodesCompiled: 3, published: 1, compileMs: 7, totalMs: 10, latenciesMs: [50, 20] });
});
Describe('a backlog: the events folded, and no latencies (they arrived before this replica looked)', () => {
  const backlog = describeEvaluation({ ...facts, caughtUp: false, backlog: 12_500 });
  assert.is(backlog.events, 12_500);
  assert.equal(backlog.latenciesMs, []);
});
Describe.run();

const Purged = suite('purgedNodes: held nodes whose rules subject is gone');
const purgedCases: Array<[name: string, held: string[], published: string[], expected: string[]]> = [
  ['every held node still has its subject: nothing to republish', ['a', 'b'], ['a', 'b', 'c'], []],
  ['a subject purged by hand: that node is published again', ['a', 'b'], ['a'], ['b']],
  ['an empty stream: every held node', ['b', 'a'], [], ['a', 'b']],
];
for (const [name, held, published, expected] of purgedCases) Purged(name, () => assert.equal(purgedNodes(held, published), expected));
Purged.run();
