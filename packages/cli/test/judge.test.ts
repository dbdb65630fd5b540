import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApplierRecord } from '@knp/shared';
import { judgeSync, renderStatus, rvAtLeast, statusReport, type ClusterFacts } from '../src/index.js';

const NOW = Date.parse('2025-01-01T00:01:00.000Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();
const EPOCH = '2025-01-01T00:00:00Z';

/** Builders: a cluster where everything is synced at events seq 10, and edits that break one condition each. */
const applier = (node: string, seq: number, hash: string, over: Partial<ApplierRecord> = {}): ApplierRecord => ({
  schema: 1, node, instance: `i-${node}`, backend: 'nftables', startedAt: ago(60_000), heartbeatAt: ago(500), heartbeatMs: 1_000,
  version: { epoch: EPOCH, seq }, hash, appliedAt: ago(1_000), kernelWrites: 1, repairs: 0, ...over,
});
function facts(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    nowMs: NOW,
    prefix: 'knp',
    events: { epoch: EPOCH, lastSeq: 10 },
    watcher: { schema: 1, instance: 'w', epoch: EPOCH, startedAt: ago(60_000), heartbeatAt: ago(100), kinds: { Pod: { resourceVersion: '120', listed: true, objects: 3 }, Namespace: { resourceVersion: '100', listed: true, objects: 1 }, NetworkPolicy: { resourceVersion: '118', listed: true, objects: 1 }, Node: { resourceVersion: '119', listed: true, objects: 2 }, ClusterNetworkPolicy: { resourceVersion: '110', listed: true, objects: 0 } }, pending: 0, upToDate: true, published: 10, duplicates: 0, lastSeq: 10 },
    compilers: [{ schema: 1, instance: 'c', epoch: EPOCH, startedAt: ago(60_000), heartbeatAt: ago(100), lastSeq: 10, evaluatedSeq: 10, caughtUp: true, startedFromSeq: 0, lastSnapshotSeq: 0, nodes: 2, published: 4, adopted: 0, behind: 0, errors: 0 }],
    rejections: undefined,
    appliers: [applier('node-1', 9, 'h1'), applier('node-2', 10, 'h2')],
    desired: [{ node: 'node-1', version: { epoch: EPOCH, seq: 9 }, hash: 'h1' }, { node: 'node-2', version: { epoch: EPOCH, seq: 10 }, hash: 'h2' }],
    ...over,
  };
}
const base = facts();

const Judge = suite('judgeSync: knp wait --synced');
const cases: Array<[name: string, input: ClusterFacts, criteria: { targetSeq: number; afterRv?: string }, synced: boolean, reason?: RegExp]> = [
  ['everything caught up is synced', base, { targetSeq: 10 }, true],
  ['with --after-rv at or below what every kind\'s watch reached, synced', base, { targetSeq: 10, afterRv: '100' }, true],
  ['one kind\'s watch has not reached the resourceVersion (another\'s has): not yet', base, { targetSeq: 10, afterRv: '118' }, false, /reached resourceVersion 100, waiting for 118/],
  ['no kind has seen the resourceVersion', base, { targetSeq: 10, afterRv: '121' }, false, /waiting for 121/],
  ['resourceVersions compare as numbers, not text', base, { targetSeq: 10, afterRv: '99' }, true],
  ['a kind the API does not serve (CRD absent, no watch, no resourceVersion) is not waited for', facts({ watcher: { ...base.watcher!, kinds: { ...base.watcher!.kinds, ClusterNetworkPolicy: { resourceVersion: '', listed: true, objects: 0, absent: true } } } }), { targetSeq: 10, afterRv: '100' }, true],
  ['a served kind with no resourceVersion yet is waited for', facts({ watcher: { ...base.watcher!, kinds: { ...base.watcher!.kinds, ClusterNetworkPolicy: { resourceVersion: '', listed: false, objects: 0 } } } }), { targetSeq: 10, afterRv: '100' }, false, /reached resourceVersion none/],
  ['the watcher has unpublished events', facts({ watcher: { ...base.watcher!, pending: 2, upToDate: false } }), { targetSeq: 10, afterRv: '100' }, false, /2 event\(s\) not yet published/],
  ['without --after-rv the watcher is not consulted', facts({ watcher: undefined }), { targetSeq: 10 }, true],
  ['the watcher published past the call\'s sequence: the compiler must reach that too', facts({ watcher: { ...base.watcher!, lastSeq: 12 } }), { targetSeq: 10, afterRv: '100' }, false, /waiting for 12(?!\d)/],
  ['the compiler is behind the stream at the call', facts({ compilers: [{ ...base.compilers[0]!, evaluatedSeq: 8 }] }), { targetSeq: 10 }, false, /evaluated events up to 8, waiting for 10/],
  ['events after the call do not hold the verdict back', base, { targetSeq: 9 }, true],
  ['a compiler still replaying does not count', facts({ compilers: [{ ...base.compilers[0]!, caughtUp: false }] }), { targetSeq: 10 }, false, /no caught-up compiler/],
  ['a compiler of an older epoch does not count', facts({ compilers: [{ ...base.compilers[0]!, epoch: 'old' }] }), { targetSeq: 10 }, false, /no caught-up compiler/],
  ['one caught-up replica of several is enough', facts({ compilers: [{ ...base.compilers[0]!, evaluatedSeq: 3, instance: 'd' }, base.compilers[0]!] }), { targetSeq: 10 }, true],
  ['an empty stream needs no compiler', facts({ events: { epoch: EPOCH, lastSeq: 0 }, compilers: [], desired: [], appliers: [] }), { targetSeq: 0 }, true],
  ['an applier behind its newest rule set', facts({ appliers: [applier('node-1', 8, 'h0'), applier('node-2', 10, 'h2')] }), { targetSeq: 10 }, false, /node node-1: applier has 8 \(h0\), newest rule set is 9 \(h1\)/],
  ['an applier whose heartbeat is stale is not waited for', facts({ appliers: [applier('node-1', 8, 'h0', { heartbeatAt: ago(10_000) }), applier('node-2', 10, 'h2')] }), { targetSeq: 10 }, true],
  ['same content under a later version counts as in force', facts({ appliers: [applier('node-1', 11, 'h1'), applier('node-2', 10, 'h2')] }), { targetSeq: 10 }, true],
  ['an unreadable newest rule set holds a live applier back', facts({ desired: [{ node: 'node-1', error: 'part gone' }, base.desired[1]!] }), { targetSeq: 10 }, false, /node node-1/],
  ['a node without a published rule set is fine', facts({ desired: [base.desired[1]!] }), { targetSeq: 10 }, true],
  ['a refused rule set is reported with the node', facts({ appliers: [applier('node-1', 8, 'h0', { error: { kind: 'refused', message: 'schema 2', at: ago(10) } }), applier('node-2', 10, 'h2')] }), { targetSeq: 10 }, false, /refused: schema 2/],
  ['no events stream at all', facts({ events: { epoch: undefined, lastSeq: 0 } }), { targetSeq: 0 }, false, /does not exist/],
];
for (const [name, input, criteria, synced, reason] of cases)
  Judge(name, () => {
    const verdict = judgeSync(input, criteria);
    assert.is(verdict.synced, synced, verdict.waitingFor.join('; '));
    if (reason) assert.match(verdict.waitingFor.join('\n'), reason);
    if (synced) assert.equal(verdict.waitingFor, []);
  });
Judge('rvAtLeast: numeric comparison; opaque strings only by equality', () => {
  assert.ok(rvAtLeast('100', '99'));
  assert.not.ok(rvAtLeast('99', '100'));
  assert.ok(rvAtLeast('abc', 'abc'));
  assert.not.ok(rvAtLeast('abd', 'abc'));
});
Judge.run();

const Status = suite('statusReport / renderStatus: knp status');
Status('reports desired vs applied, lag, heartbeat age and errors per node', () => {
  const report = statusReport(facts({
    appliers: [applier('node-1', 7, 'h0', { error: { kind: 'apply-failed', message: 'nft rejected line 3', at: ago(5) } }), applier('node-2', 10, 'h2', { heartbeatAt: ago(60_000) })],
    desired: [...base.desired, { node: 'node-3', version: { epoch: EPOCH, seq: 4 }, hash: 'h3' }],
    rejections: { schema: 1, epoch: EPOCH, seq: 10, count: 1, rejections: [{ object: 'NetworkPolicy a/b', field: 'spec.ingress[0]', reason: 'bad' }] },
  }));
  const byNode = new Map(report.nodes.map((n) => [n.node, n]));
  assert.is(byNode.get('node-1')!.lagSeq, 2);
  assert.is(byNode.get('node-1')!.error, 'apply-failed: nft rejected line 3');
  assert.is(byNode.get('node-2')!.fresh, false);
  assert.is(byNode.get('node-3')!.heartbeatAgeMs, undefined);
  assert.is(report.rejections.count, 1);
  const text = renderStatus(report);
  assert.match(text, /node-1\s+9\s+7\s+2\s+0\.5s ago\s+behind\s+0\s+apply-failed: nft rejected line 3/);
  assert.match(text, /node-2\s+10\s+10\s+0\s+60\.0s ago\s+stale/);
  assert.match(text, /node-3\s+4\s+-\s+\?\s+no applier/);
  assert.match(text, /NetworkPolicy a\/b spec.ingress\[0\]: bad/);
});
Status('refusals per node, and warnings where rule sets go unverified', () => {
  const refused = { total: 3, byReason: { unsigned: 3 }, last: { reason: 'unsigned', detail: 'no signature', source: 'stream seq 9', at: ago(5) } };
  const report = statusReport(facts({ verified: false, appliers: [applier('node-1', 9, 'h1', { trust: 'unsigned', refused }), applier('node-2', 10, 'h2', { trust: 'signed' })] }));
  const text = renderStatus(report);
  assert.match(text, /^warning: rule sets not verified: KNP_TRUSTED_COMPILER_KEYS is not set for this command$/m);
  assert.match(text, /^warning: applier\(s\) applying unsigned rule sets \(no KNP_TRUSTED_COMPILER_KEYS\): node-1$/m);
  assert.match(text, /NODE\s+DESIRED\s+APPLIED\s+LAG\s+HEARTBEAT\s+STATE\s+REFUSED\s+ERROR/);
  assert.match(text, /node-1\s+9\s+9\s+0\s+0\.5s ago\s+in sync\s+3/);
  assert.equal(statusReport(facts({ verified: true, appliers: [applier('node-1', 9, 'h1', { trust: 'signed' })] })).warnings, []);
});
Status('a kind whose CRD is not installed is named under the watcher', () => {
  const absent = statusReport(facts({ watcher: { ...base.watcher!, kinds: { ...base.watcher!.kinds, ClusterNetworkPolicy: { resourceVersion: '', listed: true, objects: 0, absent: true } } } }));
  assert.equal(absent.watcher?.absentKinds, ['ClusterNetworkPolicy']);
  assert.match(renderStatus(absent), /^\s+ClusterNetworkPolicy: not served by the API \(CRD not installed\): synced as none, discovery retried$/m);
  assert.not.match(renderStatus(statusReport(base)), /not served/);
});
Status('a hostile node name is printed quoted', () => {
  const text = renderStatus(statusReport(facts({ desired: [{ node: 'evil\u001b[2J', version: { epoch: EPOCH, seq: 1 }, hash: 'h' }], appliers: [] })));
  assert.not.ok(text.includes('\u001b'));
  assert.match(text, /"evil\\u001b\[2J"/);
});
Status('signing: a warning line when unsigned; refusals and malformed events with their sequences', () => {
  const unsigned = renderStatus(statusReport(facts({
    compilers: [{ ...base.compilers[0]!, signing: { events: 'unsigned', snapshots: 'unsigned', signsSnapshots: false, waitingForSync: [] } }],
  })));
  assert.match(unsigned, /WARNING: events are published unsigned/);
  assert.match(unsigned, /WARNING: events unsigned \(KNP_TRUSTED_WATCHER_KEYS unset\)/);
  const signed = renderStatus(statusReport(facts({
    watcher: { ...base.watcher!, signing: { keyId: '0123456789abcdef', start: 1 } },
    compilers: [{
      ...base.compilers[0]!,
      signing: { events: 'signed', snapshots: 'signed', signsSnapshots: true, keyId: 'fedcba9876543210', waitingForSync: ['NetworkPolicy'] },
      input: {
        refused: 3, refusedByReason: { unsigned: 2, replayed: 1 },
        recentRefused: [{ seq: 41, subject: 'knp.ev.sync.networkpolicy', reason: 'unsigned', detail: 'no signature, and signing is required' }],
        rejected: 1, recentRejected: [{ seq: 42, object: 'Pod a/\u001bx', field: 'uid', reason: 'not a uid', skipped: true }],
      },
    }],
  })));
  assert.not.match(signed, /WARNING/);
  assert.match(signed, /signs events with key 0123456789abcdef/);
  assert.match(signed, /folds only signed events, loads only signed snapshots/);
  assert.match(signed, /publishing held until a signed full sync of NetworkPolicy/);
  assert.match(signed, /refused events: 3 \(unsigned 2, replayed 1\)/);
  assert.match(signed, /seq 41 knp\.ev\.sync\.networkpolicy: unsigned: no signature/);
  assert.match(signed, /malformed events: 1\n\s+seq 42 "Pod a\/\\u001bx" uid: not a uid \(skipped\)/);
});
Status.run();
