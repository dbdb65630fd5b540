import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet } from '@knp/shared';
import { admitRuleSet } from '@knp/shared';

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
