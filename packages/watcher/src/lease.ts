/**
 * The leader-election decision, pure: given what the Lease says, what we last observed of it, our identity
 * and the clock, what to do next. Expiry is judged as client-go does, by our own clock: a standby takes
 * over once the record (holder and renew time) has not changed for the holder's lease duration since we
 * first saw it, so clock skew between nodes does not matter. An empty holder (released at a clean stop) or
 * a missing Lease is free at once: a first start does not wait.
 */

/** The Lease fields we read ('' holder = released). */
export type LeaseRecord = {
  readonly holder: string;
  readonly renewTime: string;
  readonly durationS: number;
  readonly transitions: number;
  readonly resourceVersion: string;
};

export type LeaseView = { readonly kind: 'found'; readonly record: LeaseRecord } | { readonly kind: 'absent' } | { readonly kind: 'unreachable' };

/** When we first saw the current record (holder + renew time), by our clock. */
export type Observed = { readonly key: string; readonly atMs: number };

export type LeaseTiming = {
  /** How long a holder keeps the lease without renewing (written into the Lease). */
  readonly durationMs: number;
  /** A holder that has not renewed for this long stops publishing; shorter than `durationMs`. */
  readonly renewDeadlineMs: number;
};

export type LeaseInput = {
  readonly lease: LeaseView;
  readonly identity: string;
  readonly nowMs: number;
  /** Leading: when our last renew (or acquire) succeeded; undefined while standby. */
  readonly lastRenewMs: number | undefined;
  readonly observed: Observed | undefined;
  readonly timing: LeaseTiming;
};

export type LeaseStep =
  | { readonly action: 'create' }
  | { readonly action: 'acquire'; readonly reason: 'free' | 'expired' | 'ours' }
  | { readonly action: 'renew' }
  | { readonly action: 'standby'; readonly holder: string; readonly expiresInMs: number }
  | { readonly action: 'wait' }
  | { readonly action: 'lost'; readonly reason: 'deadline' | 'taken' | 'deleted'; readonly holder: string };

export type LeaseDecision = { readonly step: LeaseStep; readonly observed: Observed | undefined };

const keyOf = (r: LeaseRecord): string => `${r.holder}\n${r.renewTime}`;

export function decideLease(input: LeaseInput): LeaseDecision {
  const { lease, identity, nowMs, lastRenewMs, timing } = input;
  const observed = lease.kind !== 'found' ? input.observed
    : input.observed?.key === keyOf(lease.record) ? input.observed : { key: keyOf(lease.record), atMs: nowMs };
  const decided = (step: LeaseStep): LeaseDecision => ({ step, observed });
  if (lastRenewMs !== undefined) {
    // leading: past the deadline we stop whatever the API says (a standby may take over at the duration)
    if (nowMs - lastRenewMs >= timing.renewDeadlineMs) return decided({ action: 'lost', reason: 'deadline', holder: lease.kind === 'found' ? lease.record.holder : '' });
    if (lease.kind === 'unreachable') return decided({ action: 'wait' });
    if (lease.kind === 'absent') return decided({ action: 'lost', reason: 'deleted', holder: '' });
    if (lease.record.holder !== identity) return decided({ action: 'lost', reason: 'taken', holder: lease.record.holder });
    return decided({ action: 'renew' });
  }
  if (lease.kind === 'unreachable') return decided({ action: 'wait' });
  if (lease.kind === 'absent') return decided({ action: 'create' });
  const { record } = lease;
  if (record.holder === '') return decided({ action: 'acquire', reason: 'free' });
  if (record.holder === identity) return decided({ action: 'acquire', reason: 'ours' });
  const durationMs = record.durationS > 0 ? record.durationS * 1000 : timing.durationMs;
  const expiresInMs = observed!.atMs + durationMs - nowMs;
  if (expiresInMs <= 0) return decided({ action: 'acquire', reason: 'expired' });
  return decided({ action: 'standby', holder: record.holder, expiresInMs });
}

/** A Lease time as the API writes it (RFC 3339 with microseconds). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** The lease timing from the configured seconds: the renew deadline is two thirds of the duration, as in client-go (15 s / 10 s). */
export function leaseTiming(durationS: number): LeaseTiming {
  return { durationMs: durationS * 1000, renewDeadlineMs: Math.round((durationS * 1000 * 2) / 3) };
}
