import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decideSetSweep, fullMessage, deltaMessage, makeRuleSet, namedSetRefs, setRefOf, type AddressSet, type SetRef, type StoredSetContent } from '../src/index.js';

const h = (c: string): string => c.repeat(64);
const ref = (id: string, c: string): SetRef => ({ id, hash: h(c) });
const stored = (id: string, c: string, ageMs: number, base?: string): StoredSetContent => ({ ref: ref(id, c), ageMs, ...(base ? { base: h(base) } : {}) });
const keys = (refs: readonly SetRef[]): string[] => refs.map((r) => `${r.id}.${r.hash[0]}`).sort();
const OLD = 3_600_000;
const GRACE = 600_000;

const Sweep = suite('set sweep: what nothing names any more goes, what a reader may follow stays');

Sweep('named contents stay, unnamed old ones go', () => {
  const out = decideSetSweep([ref('s', 'a')], [stored('s', 'a', OLD), stored('s', 'b', OLD), stored('t', 'c', OLD)], GRACE);
  assert.equal(keys(out.keep), ['s.a']);
  assert.equal(keys(out.purge), ['s.b', 't.c']);
});

Sweep('the same hash under another set id is another content', () => {
  const out = decideSetSweep([ref('s', 'a')], [stored('s', 'a', OLD), stored('t', 'a', OLD)], GRACE);
  assert.equal(keys(out.purge), ['t.a']);
});

Sweep('a kept delta keeps its base, transitively, down to the whole content', () => {
  // a <- b <- c <- d (each a member delta on the one before); only d is named
  const out = decideSetSweep([ref('s', 'd')], [stored('s', 'a', OLD), stored('s', 'b', OLD, 'a'), stored('s', 'c', OLD, 'b'), stored('s', 'd', OLD, 'c'), stored('s', 'e', OLD, 'a')], GRACE);
  assert.equal(keys(out.keep), ['s.a', 's.b', 's.c', 's.d']);
  assert.equal(keys(out.purge), ['s.e'], 'a delta nothing keeps goes, though its base stays');
});

Sweep('the middle of a chain no message names stays while its child is kept', () => {
  // a <- b <- c: a and c named (c by a newer message), b by none
  const out = decideSetSweep([ref('s', 'a'), ref('s', 'c')], [stored('s', 'a', OLD), stored('s', 'b', OLD, 'a'), stored('s', 'c', OLD, 'b')], GRACE);
  assert.equal(keys(out.keep), ['s.a', 's.b', 's.c']);
  assert.equal(out.purge, []);
});

Sweep('contents younger than the grace stay, and so do their bases', () => {
  const out = decideSetSweep([], [stored('s', 'a', OLD), stored('s', 'b', GRACE - 1, 'a'), stored('s', 'c', GRACE), stored('s', 'd', OLD)], GRACE);
  assert.equal(keys(out.keep), ['s.a', 's.b']);
  assert.equal(keys(out.purge), ['s.c', 's.d']);
});

Sweep('a named content the store does not hold, a base it does not hold, and a cycle of bases end the walk', () => {
  const out = decideSetSweep([ref('s', 'x'), ref('s', 'b')], [stored('s', 'b', OLD, 'z'), stored('s', 'c', OLD, 'd'), stored('s', 'd', OLD, 'c')], GRACE);
  assert.equal(keys(out.keep), ['s.b']);
  assert.equal(keys(out.purge), ['s.c', 's.d']);
  const cycle = decideSetSweep([ref('s', 'c')], [stored('s', 'c', OLD, 'd'), stored('s', 'd', OLD, 'c')], GRACE);
  assert.equal(keys(cycle.keep), ['s.c', 's.d']);
});

Sweep('a FULL names all its sets, a DELTA the ones it puts', () => {
  const set = (id: string, ips: string[]): AddressSet => ({ kind: 'pods', id, selector: id, ips });
  const rs = (seq: number, sets: AddressSet[]) => makeRuleSet({ node: 'n', pods: [], rules: [], sets }, { epoch: 'e', seq });
  const a = rs(1, [set('p', ['10.0.0.1']), set('q', ['10.0.0.2'])]);
  const b = rs(2, [set('p', ['10.0.0.1']), set('q', ['10.0.0.3'])]);
  assert.equal(namedSetRefs(fullMessage(a).message), a.sets.map(setRefOf));
  assert.equal(namedSetRefs(deltaMessage(a, b).message), [setRefOf(b.sets[1]!)]);
  assert.equal(namedSetRefs(deltaMessage(a, a).message), []);
});

Sweep.run();
