import { compareVersions, type Logger, type RuleSet, type RuleSetVersion } from '@knp/shared';
import type { Backend, LoadMode } from './backend.js';
import { RenderError } from './render/common/text.js';

export type RetryPolicy = { readonly attempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 5_000 };

export type ApplyOutcome =
  /** The version is at or below the one applied: nothing to do. */
  | { readonly kind: 'stale'; readonly applied: RuleSetVersion }
  /** Same content as the kernel holds: the new version is recorded, nothing is written. */
  | { readonly kind: 'unchanged' }
  /** `loadMs`: render + kernel transaction; `kernelMs`: the transaction alone. */
  | { readonly kind: 'applied'; readonly mode: LoadMode; readonly attempts: number; readonly loadMs: number; readonly kernelMs: number };

/** `refreshed`: set-member deltas had been applied since the last reference listing; the whole rule set was loaded again to take a new one. */
export type ReconcileOutcome = 'nothing-applied' | 'in-sync' | 'repaired' | 'refreshed';

/** What the applier reports (status endpoint, tests): what is in force and what last went wrong. */
export type ApplierStatus = {
  readonly applied?: { readonly version: RuleSetVersion; readonly contentHash: string };
  readonly lastError?: { readonly version: RuleSetVersion; readonly message: string; readonly attempts: number };
  readonly kernelWrites: number;
  readonly repairs: number;
};

/** Applying a rule set failed after every attempt; the previous rules stay in force. */
export class ApplyError extends Error {
  override name = 'ApplyError';
}

export type ApplierOptions = {
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
};

/**
 * The applier core: idempotent, serialised application of rule sets to one backend, and drift repair.
 * `apply` and `reconcile` never interleave, so a timer-driven reconcile cannot race a new rule set.
 */
export class Applier {
  /**
   * What the kernel holds by our hand; `fingerprint` is its listing digest, null until read back.
   * `deferred`: set-member deltas were applied since the last full load and not read back (see loadWithRetry).
   */
  private applied: { ruleSet: RuleSet; fingerprint: string | undefined | null; deferred?: boolean } | undefined;
  private status_: ApplierStatus = { kernelWrites: 0, repairs: 0 };
  /** Tasks not started yet; one runs at a time (`busy`). */
  private readonly waiting: { readonly urgent: boolean; readonly start: () => Promise<void> }[] = [];
  private busy = false;
  /** The drift check queued or running, if any: the timer never stacks a second one behind it. */
  private pendingReconcile: Promise<ReconcileOutcome> | undefined;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly backend: Backend, private readonly options: ApplierOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get status(): ApplierStatus {
    return this.status_;
  }

  /** Makes the kernel enforce `ruleSet` unless it is stale or already in force. Throws ApplyError after retries. */
  apply(ruleSet: RuleSet): Promise<ApplyOutcome> {
    return this.serialise(() => this.applyNow(ruleSet));
  }

  /**
   * Compares the kernel with what was last applied and loads it again when they differ (or it is gone).
   * At most one drift check is queued or running: a call meanwhile gets that one's outcome.
   */
  reconcile(): Promise<ReconcileOutcome> {
    if (this.pendingReconcile) return this.pendingReconcile;
    const check = this.serialise(() => this.reconcileNow(), false).finally(() => {
      if (this.pendingReconcile === check) this.pendingReconcile = undefined;
    });
    this.pendingReconcile = check;
    return check;
  }

  /**
   * Runs `task` when nothing else runs. An urgent task (a rule set to apply) starts before every waiting
   * background one (a drift check, a read-back), so a new rule set never waits behind a listing.
   */
  private serialise<T>(task: () => Promise<T>, urgent = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ urgent, start: () => Promise.resolve().then(task).then(resolve, reject) });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy) return;
    const urgent = this.waiting.findIndex((t) => t.urgent);
    const [next] = this.waiting.splice(urgent === -1 ? 0 : urgent, 1);
    if (!next) return;
    this.busy = true;
    void next.start().finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async applyNow(ruleSet: RuleSet): Promise<ApplyOutcome> {
    const current = this.applied?.ruleSet;
    if (current && compareVersions(ruleSet.version, current.version) <= 0) return { kind: 'stale', applied: current.version };
    if (current && current.contentHash === ruleSet.contentHash) {
      this.applied = { ...this.applied!, ruleSet };
      this.status_ = { ...this.status_, applied: { version: ruleSet.version, contentHash: ruleSet.contentHash } };
      return { kind: 'unchanged' };
    }
    return this.loadWithRetry(ruleSet, current);
  }

  private async reconcileNow(): Promise<ReconcileOutcome> {
    if (!this.applied) return 'nothing-applied';
    if (this.applied.deferred) {
      await this.loadWithRetry(this.applied.ruleSet, undefined);
      return 'refreshed';
    }
    if (this.applied.fingerprint === null) {
      await this.readBack();
      return 'in-sync';
    }
    const seen = await this.backend.observe();
    if (seen !== undefined && seen === this.applied.fingerprint) return 'in-sync';
    this.options.log.warn({ version: this.applied.ruleSet.version, present: seen !== undefined }, 'kernel drifted from the applied rule set');
    await this.loadWithRetry(this.applied.ruleSet, undefined);
    this.status_ = { ...this.status_, repairs: this.status_.repairs + 1 };
    return 'repaired';
  }

  /**
   * The kernel's listing right after our own load is the reference a later reconcile compares with (like
   * with like). Listing a large table costs more than a set-member change, so it runs queued after the
   * load instead of inside it; a reconcile that finds it still pending takes it then.
   */
  private scheduleReadBack(): void {
    void this.serialise(() => this.readBack(), false).catch((err: unknown) => {
      this.options.log.warn({ err }, 'reading the applied rules back failed; the next reconcile reloads them');
    });
  }

  private async readBack(): Promise<void> {
    const applied = this.applied;
    if (!applied || applied.fingerprint !== null) return;
    const fingerprint = await this.backend.observe();
    if (this.applied === applied) this.applied = { ...applied, fingerprint };
  }

  private async loadWithRetry(ruleSet: RuleSet, prev: RuleSet | undefined): Promise<ApplyOutcome> {
    const { version } = ruleSet;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        // after a failed attempt the kernel may not hold `prev` any more: send the whole table
        const report = await this.backend.load(ruleSet, attempt === 1 ? prev : undefined);
        const loadMs = performance.now() - started;
        // A delta is not read back: listing a large table costs 10x the delta, and back-to-back changes
        // would each wait for the previous listing. Reading it back at the next reconcile instead would take
        // any drift since as the reference, so that reconcile loads the whole rule set again (a periodic full
        // load while sets churn) and reads back after it.
        this.applied = report.mode === 'delta' ? { ruleSet, fingerprint: null, deferred: true } : { ruleSet, fingerprint: null };
        if (report.mode !== 'delta') this.scheduleReadBack();
        const { lastError: _, ...rest } = this.status_;
        this.status_ = { ...rest, applied: { version, contentHash: ruleSet.contentHash }, kernelWrites: rest.kernelWrites + 1 };
        this.options.log.info({ version, hash: ruleSet.contentHash, mode: report.mode, bytes: report.scriptBytes, loadMs: Math.round(loadMs), kernelMs: Math.round(report.kernelMs), attempt }, 'rule set applied');
        return { kind: 'applied', mode: report.mode, attempts: attempt, loadMs, kernelMs: report.kernelMs };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.status_ = { ...this.status_, lastError: { version, message, attempts: attempt } };
        // a rule set the renderer refuses will be refused again: do not wait for it
        const final = attempt >= this.retry.attempts || err instanceof RenderError;
        this.options.log.error({ err, version, attempt, final }, 'rule set apply failed');
        if (final) throw new ApplyError(`rule set ${version.epoch}/${version.seq} not applied after ${attempt} attempt(s): ${message}`, { cause: err });
        await this.sleep(Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }
}
