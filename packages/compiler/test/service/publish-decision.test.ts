import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet, type RuleSet } from '@knp/shared';
import { decidePublish, ruleSetMessageId, type PublishDecision } from '../../src/service/publish-decision.js';

const Decide = suite('decidePublish: what a replica does with a rule set it computed');
const rs = (pods: number, epoch: string, seq: number): RuleSet =>
  makeRuleSet({ node: 'n1', pods: Array.from({ length: pods }, (_, i) => ({ uid: `u${i}`, pod: `ns/p${i}`, ips: [`10.0.0.${i + 1}`], ingress: { isolated: false, policies: [], rules: [] }, egress: { isolated: false, policies: [], rules: [] } })), rules: [], sets: [] }, { epoch, seq });

const cases: Array<[what: string, mine: RuleSet, published: RuleSet | undefined, expected: PublishDecision]> = [
  ['nothing published yet: publish', rs(1, 'e1', 10), undefined, 'publish'],
  ['an older version with other content: publish', rs(2, 'e1', 10), rs(1, 'e1', 5), 'publish'],
  ['the same content, older version: adopt it, publish nothing', rs(1, 'e1', 10), rs(1, 'e1', 5), 'adopt'],
  ['the same content, newer version: adopt it', rs(1, 'e1', 10), rs(1, 'e1', 20), 'adopt'],
  ['a newer version with other content: another replica is ahead', rs(2, 'e1', 10), rs(1, 'e1', 20), 'behind'],
  ['the same version with other content: never overwrite it', rs(2, 'e1', 10), rs(1, 'e1', 10), 'behind'],
  ['the same content of an older stream epoch: publish under the new epoch', rs(1, 'e2', 3), rs(1, 'e1', 50), 'publish'],
  ['a rule set of a newer stream epoch: behind', rs(1, 'e1', 50), rs(2, 'e2', 3), 'behind'],
];
for (const [what, mine, published, expected] of cases) Decide(what, () => assert.is(decidePublish(mine, published), expected));

Decide('the message id names node, epoch and sequence, so one version is stored once', () => {
  assert.is(ruleSetMessageId(rs(1, '2026-01-01T00:00:00Z', 42), 7), 'n1:2026-01-01T00:00:00Z:42:7');
});

Decide.run();
