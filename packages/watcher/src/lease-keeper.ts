import { assertNever, type Logger } from '@knp/shared';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { decideLease, leaseTiming, microTime, type LeaseRecord, type LeaseStep, type LeaseTiming, type LeaseView, type Observed } from './lease.js';

export type LeaseSettings = {
  /** KNP_LEASE_NAMESPACE / KNP_LEASE_NAME: the Lease every watcher replica competes for. */
  readonly namespace: string;
  readonly name: string;
  readonly durationS: number;
  /** How often the holder renews and a standby retries. */
  readonly renewS: number;
};

export const DEFAULT_LEASE_SETTINGS: LeaseSettings = { namespace: 'knp', name: 'knp-watcher', durationS: 15, renewS: 2 };

export type LostReason = Extract<LeaseStep, { action: 'lost' }>['reason'];

/**
 * Holds the watcher's Lease (coordination.k8s.io/v1): `acquire()` resolves once we hold it (standby until
 * then), after which it is renewed every `renewS`; writes carry the resourceVersion read, so of two replicas
 * writing at once one gets 409 Conflict and stays standby. `onLost` is called once when we stop holding it:
 * another holder in the Lease, the Lease deleted, or no successful renew within the renew deadline (a timer,
 * so a hung request cannot keep us publishing). `release()` (a clean stop) empties the holder so a standby
 * takes over at once.
 */
export class LeaseKeeper {
  private readonly api: CoordinationV1Api;
  private readonly timing: LeaseTiming;
  private observed: Observed | undefined;
  private lastRenewMs: number | undefined;
  private lastHolder: string | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();
  private onLeading: (() => void) | undefined;
  private onLost: (reason: LostReason) => void = () => {};

  constructor(kc: KubeConfig, private readonly settings: LeaseSettings, readonly identity: string, private readonly log: Logger) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.timing = leaseTiming(settings.durationS);
  }

  get leading(): boolean {
    return this.lastRenewMs !== undefined;
  }

  /** Resolves once we hold the Lease; `onLost` is called (once) if we lose it later. */
  acquire(onLost: (reason: LostReason) => void): Promise<void> {
    this.onLost = onLost;
    const leading = new Promise<void>((resolve) => (this.onLeading = resolve));
    this.schedule(0);
    return leading;
  }

  /** Stops renewing; if we hold the Lease, empties its holder so a standby need not wait for it to expire. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.tickTimer);
    clearTimeout(this.deadlineTimer);
    await this.ticking;
    if (!this.leading) return;
    this.lastRenewMs = undefined;
    try {
      const view = await this.read();
      if (view.kind !== 'found' || view.record.holder !== this.identity) return;
      await this.replace(view.record, Date.now(), '', 1);
      this.log.info({ lease: this.ref() }, 'lease released');
    } catch (err) {
      this.log.warn({ err: errorOf(err), lease: this.ref() }, 'lease release failed; a standby takes over when it expires');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.tickTimer = setTimeout(() => {
      this.ticking = this.tick().catch((err: unknown) => this.log.warn({ err: errorOf(err), lease: this.ref() }, 'lease step failed'));
      void this.ticking.then(() => this.schedule(this.settings.renewS * 1000));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const view = await this.read();
    if (this.stopped) return;
    const nowMs = Date.now();
    const { step, observed } = decideLease({ lease: view, identity: this.identity, nowMs, lastRenewMs: this.lastRenewMs, observed: this.observed, timing: this.timing });
    this.observed = observed;
    const current = view.kind === 'found' ? view.record : undefined;
    switch (step.action) {
      case 'create':
        this.acquireTime = microTime(nowMs);
        return this.write(nowMs, () => this.api.createNamespacedLease({ namespace: this.settings.namespace, body: this.body(this.identity, nowMs, this.settings.durationS, 0) }), 'lease created and acquired');
      case 'acquire':
        return this.write(nowMs, () => this.replace(current!, nowMs), 'lease acquired', { reason: step.reason, previous: current!.holder });
      case 'renew':
        return this.write(nowMs, () => this.replace(current!, nowMs));
      case 'standby':
        if (step.holder !== this.lastHolder) this.log.info({ lease: this.ref(), holder: step.holder, expiresInMs: step.expiresInMs }, 'standby: another watcher holds the lease');
        this.lastHolder = step.holder;
        return;
      case 'wait':
        return;
      case 'lost':
        return this.lose(step.reason, step.holder);
      default:
        return assertNever(step);
    }
  }

  /** One optimistic write; 409 Conflict means another replica wrote first: the next read decides. */
  private async write(nowMs: number, request: () => Promise<V1Lease>, message?: string, facts: Record<string, unknown> = {}): Promise<void> {
    try {
      await request();
    } catch (err) {
      if (statusOf(err) === 409) return this.log.info({ lease: this.ref() }, 'lease write conflicted; another watcher wrote first');
      throw err;
    }
    if (this.stopped) return;
    const wasLeading = this.leading;
    this.lastRenewMs = nowMs;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.lose('deadline', ''), Math.max(0, nowMs + this.timing.renewDeadlineMs - Date.now()));
    if (!wasLeading) {
      if (message) this.log.info({ lease: this.ref(), identity: this.identity, ...facts }, message);
      this.onLeading?.();
    }
  }

  private lose(reason: LostReason, holder: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.tickTimer);
    clearTimeout(this.deadlineTimer);
    this.lastRenewMs = undefined;
    this.log.error({ lease: this.ref(), reason, holder }, 'lease lost');
    this.onLost(reason);
  }

  /** Our acquire time while we hold the Lease (kept across renewals). */
  private acquireTime = '';

  private replace(current: LeaseRecord, nowMs: number, holder = this.identity, durationS = this.settings.durationS): Promise<V1Lease> {
    const taking = holder !== '' && current.holder !== holder;
    if (taking) this.acquireTime = microTime(nowMs);
    const body = this.body(holder, nowMs, durationS, current.transitions + (taking && current.holder !== '' ? 1 : 0), current.resourceVersion);
    return this.api.replaceNamespacedLease({ name: this.settings.name, namespace: this.settings.namespace, body });
  }

  private body(holder: string, nowMs: number, durationS: number, transitions: number, resourceVersion?: string): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.settings.name, namespace: this.settings.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      // MicroTime strings as the API writes them; the client passes strings through unchanged
      spec: { holderIdentity: holder, leaseDurationSeconds: durationS, renewTime: microTime(nowMs) as never, acquireTime: (this.acquireTime || microTime(nowMs)) as never, leaseTransitions: transitions },
    };
  }

  private async read(): Promise<LeaseView> {
    try {
      const lease = await this.api.readNamespacedLease({ name: this.settings.name, namespace: this.settings.namespace });
      const record = leaseRecordOf(lease);
      if (record === undefined) {
        this.log.warn({ lease: this.ref() }, 'lease without a resourceVersion ignored');
        return { kind: 'unreachable' };
      }
      return { kind: 'found', record };
    } catch (err) {
      if (statusOf(err) === 404) return { kind: 'absent' };
      this.log.warn({ err: errorOf(err), lease: this.ref() }, 'lease read failed');
      return { kind: 'unreachable' };
    }
  }

  private ref(): string {
    return `${this.settings.namespace}/${this.settings.name}`;
  }
}

/** The fields we read, checked (the API's answer is outside input); undefined without a resourceVersion. */
export function leaseRecordOf(lease: V1Lease): LeaseRecord | undefined {
  const rv = lease.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') return undefined;
  const spec = lease.spec ?? {};
  const time = spec.renewTime as unknown;
  const renewTime = time instanceof Date ? time.toISOString() : typeof time === 'string' ? time : '';
  const num = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  return { holder: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '', renewTime, durationS: num(spec.leaseDurationSeconds), transitions: num(spec.leaseTransitions), resourceVersion: rv };
}

const statusOf = (err: unknown): number | undefined => (err as { code?: unknown } | undefined)?.code as number | undefined;

function errorOf(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  return { name: err.name, message: err.message.slice(0, 300), code: statusOf(err) };
}
