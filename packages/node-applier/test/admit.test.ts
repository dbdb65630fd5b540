import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet } from '@knp/shared';
import { admitRuleSet } from '@knp/shared';
import { localPod, nodesSet, peers, tcp, tierRule, tieredRuleSet, withTiers, type PodTiers } from '@knp/testing';

const Admit = suite('admitRuleSet: what the applier accepts from its subject');
const good = makeRuleSet({ node: 'node-1', pods: [], rules: [], sets: [] }, { epoch: 'e', seq: 3 });
const admitCases: Array<[name: string, payload: string, expected: RegExp | 'apply']> = [
  ['a rule set for this node is applied', JSON.stringify(good), 'apply'],
  ['another node\'s rule set is refused', JSON.stringify({ ...good, node: 'node-2' }), /addressed to node "node-2"/],
  ['an unknown schema version is refused', JSON.stringify({ ...good, schema: 2 }), /schema version 2 is not supported/],
  ['a payload that is not JSON is refused', '{"schema":1,', /not JSON/],
  ['a rule set without a version is refused', JSON.stringify({ ...good, version: undefined }), /version is not/],
  ['a rule set with a malformed hash is refused', JSON.stringify({ ...good, contentHash: 'x' }), /contentHash/],
];
for (const [name, payload, expected] of admitCases)
  Admit(name, () => {
    const a = admitRuleSet(payload, 'node-1');
    if (expected === 'apply') assert.is(a.kind, 'apply');
    else assert.match(a.kind === 'refuse' ? a.reason : 'applied', expected);
  });
Admit.run();

const TierAdmit = suite('admitRuleSet: ClusterNetworkPolicy tiers are checked on receipt');
const deny = tierRule('t-deny', 'ingress', 'Deny', [peers('any')]);
const pass = tierRule('t-pass', 'egress', 'Pass', [peers(['n1'], [tcp(443)])], 'baseline', 1000);
const tiered = (over: { tierRules?: unknown[]; pod?: PodTiers; sets?: unknown[] } = {}): string => {
  const pod = withTiers(localPod({ name: 'x/a', ips: ['10.0.0.1'] }), over.pod ?? { ingress: { admin: ['t-deny'] }, egress: { baseline: ['t-pass'] } });
  const rs = tieredRuleSet({ pods: [pod], sets: [nodesSet('n1', ['192.168.0.1'])], tierRules: [deny, pass] });
  return JSON.stringify({ ...rs, ...(over.tierRules ? { tierRules: over.tierRules } : {}), ...(over.sets ? { sets: over.sets } : {}) });
};
const tierCases: Array<[name: string, payload: string, expected: RegExp | 'apply']> = [
  ['a rule set with admin and baseline tier rules and a nodes set is applied', tiered(), 'apply'],
  ['tierRules that is not a list is refused', tiered({ tierRules: { a: 1 } as never }), /tierRules is not a list/],
  ['a tier rule with an unknown action is refused', tiered({ tierRules: [{ ...deny, action: 'Allow' }, pass] }), /tierRules\[0\]\.action is not Accept, Deny or Pass/],
  ['a tier rule with an unknown direction is refused', tiered({ tierRules: [{ ...deny, direction: 'both' }, pass] }), /tierRules\[0\]\.direction/],
  ['two tier rules with one id are refused', tiered({ tierRules: [deny, { ...pass, id: 't-deny' }] }), /tierRules\[1\]\.id "t-deny" is a duplicate/],
  ['a tier rule without terms is refused', tiered({ tierRules: [{ ...deny, terms: 'any' }, pass] }), /tierRules\[0\]\.terms/],
  ['a tier rule whose origin has no tier is refused', tiered({ tierRules: [{ ...deny, origin: { ...deny.origin, tier: 'Admin' } }, pass] }), /origin\.tier is not admin or baseline/],
  ['a priority past 1000 is refused', tiered({ tierRules: [deny, { ...pass, origin: { ...pass.origin, priority: 1001 } }] }), /tierRules\[1\]\.origin\.priority/],
  ['a pod list naming no tier rule is refused', tiered({ pod: { ingress: { admin: ['t-gone'] } } }), /pods\[0\]\.ingress\.admin\[0\] "t-gone" names no tier rule/],
  ['an egress tier rule in an ingress list is refused', tiered({ pod: { ingress: { baseline: ['t-pass'] } } }), /pods\[0\]\.ingress\.baseline\[0\] "t-pass" is an baseline egress rule/],
  ['an admin tier rule in a baseline list is refused', tiered({ pod: { ingress: { baseline: ['t-deny'] } } }), /is an admin ingress rule/],
  ['a tier list that is not a list of ids is refused', tiered({ pod: { egress: { admin: [3] as never } } }), /pods\[0\]\.egress\.admin is not a list/],
  ['a set of an unknown kind is refused', tiered({ sets: [{ kind: 'dns', id: 'd', names: ['x'] }] }), /sets\[0\]\.kind/],
  ['a nodes set without ips is refused', tiered({ sets: [{ kind: 'nodes', id: 'n1', selector: 's' }] }), /sets\[0\] is not a nodes set/],
];
for (const [name, payload, expected] of tierCases)
  TierAdmit(name, () => {
    const a = admitRuleSet(payload, 'node-1');
    if (expected === 'apply') assert.is(a.kind, 'apply', a.kind === 'refuse' ? a.reason : undefined);
    else assert.match(a.kind === 'refuse' ? a.reason : 'applied', expected);
  });
TierAdmit.run();
