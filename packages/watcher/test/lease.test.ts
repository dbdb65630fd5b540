import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decideLease, leaseTiming, microTime, type LeaseInput, type LeaseRecord, type LeaseView } from '../src/lease.js';

const D = suite('decideLease');
const ME = 'pod-a/1111', OTHER = 'pod-b/2222';
const timing = leaseTiming(15); // 15 s lease, 10 s renew deadline
const record = (holder: string, renewTime = 't1', over: Partial<LeaseRecord> = {}): LeaseView => ({ kind: 'found', record: { holder, renewTime, durationS: 15, transitions: 0, resourceVersion: '7', ...over } });
const input = (over: Partial<LeaseInput>): LeaseInput => ({ lease: { kind: 'absent' }, identity: ME, nowMs: 100_000, lastRenewMs: undefined, observed: undefined, timing, ...over });
const seen = (holder: string, renewTime: string, atMs: number) => ({ key: `${holder}\n${renewTime}`, atMs });

// [name, input, expected step]
const table: Array<[string, Partial<LeaseInput>, unknown]> = [
  ['no Lease: create it at once (a first start does not wait)', {}, { action: 'create' }],
  ['a released Lease (empty holder) is free at once', { lease: record('') }, { action: 'acquire', reason: 'free' }],
  ['our own identity in the Lease: take it back', { lease: record(ME) }, { action: 'acquire', reason: 'ours' }],
  ['another holder, first seen now: standby for the whole duration', { lease: record(OTHER) }, { action: 'standby', holder: OTHER, expiresInMs: 15_000 }],
  ['another holder, unchanged for 10 s by our clock: 5 s left', { lease: record(OTHER), observed: seen(OTHER, 't1', 90_000) }, { action: 'standby', holder: OTHER, expiresInMs: 5_000 }],
  ['another holder, unchanged for the lease duration: expired, take it', { lease: record(OTHER), observed: seen(OTHER, 't1', 85_000) }, { action: 'acquire', reason: 'expired' }],
  ['another holder that renewed since: the wait starts again', { lease: record(OTHER, 't2'), observed: seen(OTHER, 't1', 50_000) }, { action: 'standby', holder: OTHER, expiresInMs: 15_000 }],
  ['the holder\'s own duration counts, not ours', { lease: record(OTHER, 't1', { durationS: 60 }), observed: seen(OTHER, 't1', 50_000) }, { action: 'standby', holder: OTHER, expiresInMs: 10_000 }],
  ['a renew time far in the past does not matter (clock skew): only our observation does', { lease: record(OTHER, '2001-01-01T00:00:00.000000Z') }, { action: 'standby', holder: OTHER, expiresInMs: 15_000 }],
  ['API unreachable while standby: wait', { lease: { kind: 'unreachable' } }, { action: 'wait' }],
  ['leading, renewed 2 s ago, still ours: renew', { lease: record(ME), lastRenewMs: 98_000 }, { action: 'renew' }],
  ['leading, another holder in the Lease: lost at once', { lease: record(OTHER), lastRenewMs: 98_000 }, { action: 'lost', reason: 'taken', holder: OTHER }],
  ['leading, the Lease deleted: lost (someone else may create it)', { lease: { kind: 'absent' }, lastRenewMs: 98_000 }, { action: 'lost', reason: 'deleted', holder: '' }],
  ['leading, API unreachable within the deadline: wait', { lease: { kind: 'unreachable' }, lastRenewMs: 95_000 }, { action: 'wait' }],
  ['leading, no renew for the renew deadline: lost, even if the Lease still names us', { lease: record(ME), lastRenewMs: 90_000 }, { action: 'lost', reason: 'deadline', holder: ME }],
  ['leading, unreachable past the deadline: lost', { lease: { kind: 'unreachable' }, lastRenewMs: 89_000 }, { action: 'lost', reason: 'deadline', holder: '' }],
];
for (const [name, over, step] of table) D(name, () => assert.equal(decideLease(input(over)).step, step));

D('the observation is kept while the record is unchanged and restarted when it changes', () => {
  const first = decideLease(input({ lease: record(OTHER), nowMs: 1_000 })).observed;
  const same = decideLease(input({ lease: record(OTHER), nowMs: 5_000, observed: first })).observed;
  const changed = decideLease(input({ lease: record(OTHER, 't2'), nowMs: 6_000, observed: same })).observed;
  assert.equal([first?.atMs, same?.atMs, changed?.atMs], [1_000, 1_000, 6_000]);
});
D('a holder stops (renew deadline) before a standby may take over (duration)', () => {
  for (const s of [2, 3, 15, 60]) {
    const t = leaseTiming(s);
    assert.ok(t.renewDeadlineMs < t.durationMs, `duration ${s}`);
  }
});
D('Lease times carry microseconds, as the API writes MicroTime', () => {
  assert.is(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678000Z');
});
D.run();
