import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ipsetOtherName, placeSets, planIptables, printIpsetFill, referencedSets, withKernelSetNames, type IpsetPlan } from '../src/index.js';
import { localPod, peers, podsSet, rule, ruleSet, tcp } from '@knp/testing';
import { prng } from '@knp/testing';

/** Where a full iptables load puts each set (`placeSets`): never under a name the live chains use. */
const Place = suite('placeSets / withKernelSetNames');

const plan = planIptables(
  ruleSet({
    sets: [podsSet('a', ['10.0.0.1']), podsSet('b', ['10.0.0.2']), podsSet('c', ['10.0.0.3'])],
    rules: [rule('in', 'ingress', [peers(['a', 'b', 'c'], [tcp(80)])])],
    pods: [localPod({ name: 'x/p', ips: ['10.1.0.1'], ingress: ['in'] })],
  }),
  { prefix: 'knp' },
);
const [a, b, c] = plan.sets.map((s) => s.name) as [string, string, string];
const never = (): boolean => false;

Place('a fresh node: every set under its planned name, nothing destroyed', () => {
  const p = placeSets(plan, { referenced: new Set(), existing: new Set() }, never);
  assert.equal([...p.names.values()], [a, b, c]);
  assert.equal(p.fill.map((s) => s.name), [a, b, c]);
  assert.equal(p.destroyFirst, []);
});

Place('unchanged live sets stay; changed ones move to the other name; a leftover there is destroyed first', () => {
  const referenced = new Set([a, ipsetOtherName(b), c]);
  const existing = new Set([a, ipsetOtherName(b), b, c]);
  const p = placeSets(plan, { referenced, existing }, (s: IpsetPlan) => s.name === a);
  assert.equal([...p.names], [[a, a], [b, b], [c, ipsetOtherName(c)]]);
  assert.equal(p.fill.map((s) => s.name), [b, ipsetOtherName(c)]);
  assert.equal(p.destroyFirst, [b]);
  assert.is(printIpsetFill(p).split('\n')[0], `destroy ${b}`);
});

Place('random kernels: no set is filled or destroyed under a name the live chains reference', () => {
  const rand = prng(7);
  for (let i = 0; i < 200; i++) {
    const pick = (name: string): string[] => [name, ipsetOtherName(name)].filter(() => rand() < 0.5);
    const referenced = new Set([a, b, c].map((n) => pick(n)[0]).filter((n): n is string => n !== undefined));
    const existing = new Set([...referenced, ...[a, b, c].flatMap(pick)]);
    const p = placeSets(plan, { referenced, existing }, () => rand() < 0.5);
    for (const s of p.fill) assert.not.ok(referenced.has(s.name), s.name);
    for (const n of p.destroyFirst) assert.not.ok(referenced.has(n), n);
    assert.is(new Set(p.names.values()).size, 3);
  }
});

Place('the chains name the sets by their kernel names', () => {
  const names = new Map([[a, ipsetOtherName(a)]]);
  const renamed = withKernelSetNames(plan, names);
  const rules = renamed.tables[4].chains.flatMap((ch) => ch.rules);
  assert.equal([...referencedSets(rules.map((r) => `-A X ${r}`))].sort(), [ipsetOtherName(a), b, c].sort());
  assert.equal(renamed.sets.map((s) => s.name), [ipsetOtherName(a), b, c]);
});

Place.run();
