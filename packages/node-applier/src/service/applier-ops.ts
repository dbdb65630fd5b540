import { compareVersions, type RuleSetVersion } from '@knp/shared';
import { ServiceOps, applierMetrics, applierReadiness, implementationDelaySeconds, type Readiness } from '@knp/shared/ops';
import type { KernelObjects } from '../backend.js';
import type { Handled, Problem } from './handling.js';

/** The events between the newest rule set seen and the one in force (all of the newest's when the epochs differ). */
export function lagEvents(newest: RuleSetVersion | undefined, inForce: RuleSetVersion | undefined): number {
  if (newest === undefined || (inForce !== undefined && compareVersions(inForce, newest) >= 0)) return 0;
  return inForce === undefined || inForce.epoch !== newest.epoch ? newest.seq : newest.seq - inForce.seq;
}

/** The version a handled rule set announces, when it was admitted (a refused one proves nothing about this node). */
function admittedVersion(h: Handled): RuleSetVersion | undefined {
  if (h.kind === 'done') return h.ruleSet.version;
  if (h.kind === 'failed') return h.version;
  return undefined;
}

/**
 * The applier's operator endpoints and series, fed where the service handles a rule set. Readiness: the
 * newest rule set admitted for this node is in force. Liveness: handling one rule set (the Applier core's
 * retries included) has not taken STUCK_AFTER_MS.
 */
/** What the applier's series and readiness read from the service: its backend and the version in force. */
export type ApplierOpsFacts = { readonly backend: string; readonly inForce: RuleSetVersion | undefined };

export class ApplierOps extends ServiceOps<ApplierOpsFacts> {
  private readonly metrics = applierMetrics(this.registry);
  private newest: RuleSetVersion | undefined;
  private isFollowing = false;

  constructor(source: () => ApplierOpsFacts) {
    super('applier');
    this.attach(source); // the applier serves its endpoints once it exists: before NATS, it enforces the state file
  }

  following(): void {
    this.isFollowing = true;
  }

  /** A rule set is about to be handled. */
  busy(): void {
    this.clock.busy();
  }

  /**
   * A rule set was handled: `problem` as judged, `objects` of the rule set now in force, and the watcher's
   * receive time when it came live from the consumer (catching up and the state file are not timed).
   */
  handled(h: Handled, problem: Problem | undefined, objects: KernelObjects | undefined, receivedAtMs?: number): void {
    this.clock.progress(false);
    const version = admittedVersion(h);
    if (version && (this.newest === undefined || compareVersions(version, this.newest) > 0)) this.newest = version;
    if (problem) this.metrics.applyErrors.inc({ reason: problem.kind });
    const { backend, inForce } = this.facts()!;
    if (h.kind === 'done' && h.outcome.kind === 'applied') {
      this.metrics.applyDuration.observe({ backend, mode: h.outcome.mode }, h.outcome.loadMs / 1000);
      const delay = implementationDelaySeconds(receivedAtMs, Date.now());
      if (delay !== undefined) this.metrics.implementationDelay.observe(delay);
    }
    if (objects) {
      this.metrics.kernelRules.set({ backend }, objects.rules);
      this.metrics.setElements.set({ backend }, objects.elements);
    }
    if (inForce) this.metrics.appliedSeq.set(inForce.seq);
    this.metrics.lagSeq.set(lagEvents(this.newest, inForce));
  }

  repaired(): void {
    this.metrics.repairs.inc();
  }

  protected judge(f: ApplierOpsFacts): Readiness {
    return applierReadiness({ following: this.isFollowing, newest: this.newest, inForce: f.inForce });
  }
}
