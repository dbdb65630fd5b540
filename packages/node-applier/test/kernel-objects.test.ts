import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RuleSet } from '@knp/shared';
import { iptObjects, nftObjects, planIptables, planNft, type KernelObjects } from '../src/index.js';
import { localPod, peers, podsSet, rule, ruleSet, tcp } from '@knp/testing';

/** knp_applier_kernel_rules and knp_applier_set_elements: counted from the plan each backend loads. */
const Objects = suite('kernel objects of a rule set, per backend');
const backends: Array<[name: string, count: (rs: RuleSet) => KernelObjects]> = [
  ['nftables', (rs) => nftObjects(planNft(rs, { prefix: 'knp' }))],
  ['iptables', (rs) => iptObjects(planIptables(rs, { prefix: 'knp' }))],
];
const build = (peerIps: string[], rules: number): RuleSet =>
  ruleSet({
    pods: [localPod({ name: 'web', ips: ['10.0.0.1'], ingress: Array.from({ length: rules }, (_, i) => `r${i}`) })],
    rules: Array.from({ length: rules }, (_, i) => rule(`r${i}`, 'ingress', [peers(['s'], [tcp(8000 + i)])])),
    sets: [podsSet('s', peerIps)],
  });

for (const [name, count] of backends) {
  Objects(`${name}: one more peer IP is one more set element, and no more rules`, () => {
    const two = count(build(['10.0.1.1', '10.0.1.2'], 1)), three = count(build(['10.0.1.1', '10.0.1.2', '10.0.1.3'], 1));
    assert.ok(two.rules > 0 && two.elements > 0);
    assert.is(three.elements, two.elements + 1);
    assert.is(three.rules, two.rules);
  });
  Objects(`${name}: one more rule is more rules, and the same elements`, () => {
    const one = count(build(['10.0.1.1'], 1)), two = count(build(['10.0.1.1'], 2));
    assert.ok(two.rules > one.rules);
    assert.is(two.elements, one.elements);
  });
}
Objects.run();
