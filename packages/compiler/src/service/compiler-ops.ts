import { ServiceOps, compilerMetrics, compilerReadiness, type Readiness } from '@knp/shared/ops';
import type { FoldEvent } from '../fold-event.js';
import type { Evaluation } from './evaluation.js';
import type { EvaluationObserver } from './evaluation-step.js';
import type { Consumed } from './event-source.js';
import type { PublishHooks } from './publisher.js';

/** The reason label of a consumed message that was not taken in whole; undefined for a clean event or a part of a large one. */
export type RejectReason = 'unreadable' | 'refused' | 'skipped' | 'field-rejected';

/** `admitted`: what admission let through (undefined when it refused a decoded event: its signature or origin). */
export function rejectReason(c: Pick<Consumed, 'event' | 'rejections' | 'unreadable' | 'refusal'>, admitted: FoldEvent | undefined): RejectReason | undefined {
  if (c.unreadable) return 'unreadable';
  if (c.refusal || (c.event !== undefined && admitted === undefined)) return 'refused';
  if (c.rejections.length === 0) return undefined;
  return c.event === undefined ? 'skipped' : 'field-rejected';
}

/** What readiness, lag and liveness are judged on, read from the service when asked. */
export type CompilerOpsFacts = {
  readonly restarting: boolean;
  readonly caughtUp: boolean;
  readonly consumedSeq: number;
  readonly evaluatedSeq: number;
  readonly backlogEnd: number;
};

/**
 * The compiler's operator endpoints and series, fed by the service at the points where things happen
 * (a message consumed, an evaluation done, a rule set published). Liveness: events consumed and not
 * evaluated, with neither a message nor an evaluation ending for STUCK_AFTER_MS.
 */
export class CompilerOps extends ServiceOps<CompilerOpsFacts> implements EvaluationObserver {
  private readonly metrics = compilerMetrics(this.registry);

  constructor() {
    super('compiler');
  }

  /** One message consumed; `admitted` is the event admission let through to the fold. */
  consumed(c: Consumed, admitted: FoldEvent | undefined): void {
    if (admitted) this.metrics.eventsFolded.inc();
    const reason = rejectReason(c, admitted);
    if (reason) this.metrics.eventsRejected.inc({ reason });
    this.progressed();
  }

  evaluated(e: Evaluation): void {
    this.metrics.compileDuration.observe(e.compileMs / 1000);
    this.metrics.evaluationDuration.observe(e.totalMs / 1000);
    this.progressed();
  }

  publishHooks(receivedAtMs: number | undefined): PublishHooks {
    return {
      receivedAtMs,
      published: (node, bytes) => {
        this.metrics.ruleSetsPublished.inc();
        this.metrics.ruleSetBytes.set({ node }, bytes);
      },
      failed: () => this.metrics.publishErrors.inc(),
    };
  }

  rejected(count: number): void {
    this.metrics.rejectedPolicies.set(count);
  }

  protected judge(f: CompilerOpsFacts): Readiness {
    return compilerReadiness(f);
  }

  private progressed(): void {
    const f = this.facts();
    if (f === undefined) return;
    const lag = Math.max(0, f.consumedSeq - f.evaluatedSeq);
    this.metrics.lagEvents.set(lag);
    this.metrics.caughtUp.set(f.caughtUp ? 1 : 0);
    this.clock.progress(lag > 0);
  }
}
