import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet, type ApplierRecord } from '@knp/shared';
import { applierRecord, reportInForce, reportProblem, type ApplierFacts, type Reported } from '../src/service/applier-record.js';
import { stateToStore } from '../src/service/state-file.js';

const Record = suite('the applier status record');
const v7 = makeRuleSet({ node: 'node-1', pods: [], rules: [], sets: [] }, { epoch: 'e1', seq: 7 });
const facts: ApplierFacts = { node: 'node-1', instance: 'i-1', backend: 'nftables', startedAt: 'T0', heartbeatMs: 10_000, kernelWrites: 2, repairs: 1 };
const refused = { kind: 'refused', message: 'addressed to node "node-2"' } as const;
const at = (r: Reported): Pick<ApplierRecord, 'version' | 'hash' | 'appliedAt' | 'error'> => {
  const { version, hash, appliedAt, error } = applierRecord(r, facts, 'T9');
  return { version, hash, appliedAt, error };
};

Record('a fresh applier records only itself: no rule set, no problem', () =>
  assert.equal(applierRecord({}, facts, 'T1'), { schema: 1, node: 'node-1', instance: 'i-1', backend: 'nftables', startedAt: 'T0', heartbeatAt: 'T1', heartbeatMs: 10_000, kernelWrites: 2, repairs: 1 }));
Record('a rule set in force is recorded with its version, hash and when', () =>
  assert.equal(at(reportInForce(v7, 'T2')), { version: v7.version, hash: v7.contentHash, appliedAt: 'T2', error: undefined }));
Record('a problem keeps the rules in force in the record', () =>
  assert.equal(at(reportProblem(reportInForce(v7, 'T2'), refused, 'T3')), { version: v7.version, hash: v7.contentHash, appliedAt: 'T2', error: { ...refused, at: 'T3' } }));
Record('the next rule set in force clears the problem', () => {
  const v8 = makeRuleSet({ node: 'node-1', pods: [], rules: [], sets: [] }, { epoch: 'e1', seq: 8 });
  assert.ok(at(reportProblem(reportInForce(v7, 'T2'), refused, 'T3')).error);
  assert.equal(at(reportInForce(v8, 'T4')), { version: v8.version, hash: v8.contentHash, appliedAt: 'T4', error: undefined });
});
Record.run();

const Store = suite('stateToStore: what the state file keeps');
Store('the read-back listing is kept with the rule set it was taken of', () =>
  assert.equal(stateToStore(v7, { hash: v7.contentHash, fingerprint: 'f1' }), { ruleSet: v7, fingerprint: 'f1' }));
Store('a listing of other content is not kept (a restart must not trust it)', () =>
  assert.equal(stateToStore(v7, { hash: 'other', fingerprint: 'f1' }), { ruleSet: v7 }));
Store('no listing yet: the rule set alone', () => assert.equal(stateToStore(v7, undefined), { ruleSet: v7 }));
Store.run();
