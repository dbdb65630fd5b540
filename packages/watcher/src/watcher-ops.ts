import type { ClusterEvent, ObjectKind } from '@knp/shared';
import { ServiceOps, watcherMetrics, watcherReadiness, type Readiness } from '@knp/shared/ops';
import type { PublisherObserver } from './publisher.js';

/** What readiness is judged on, read from the service when asked. */
export type WatcherOpsFacts = {
  /** Waiting for the Lease another watcher holds: ready (a rollout must be able to replace replicas), idle. */
  readonly standby: boolean;
  readonly unlisted: readonly ObjectKind[];
  readonly pending: number;
};

/**
 * The watcher's operator endpoints and series: a publisher observer that counts publishes and ticks the
 * liveness clock, and the readiness latch (the first lists are published once the queue drained with every
 * kind listed; a relist of every kind after the stream was recreated starts it over).
 */
export class WatcherOps extends ServiceOps<WatcherOpsFacts> implements PublisherObserver {
  private readonly metrics = watcherMetrics(this.registry);
  private listsPublished = false;

  constructor() {
    super('watcher');
  }

  /** Serves the endpoints on `port` (undefined = not served); returns the bound port. */
  queued(pending: number): void {
    this.clock.busy();
    this.metrics.queueDepth.set(pending);
  }

  attempted(event: ClusterEvent, outcome: 'published' | 'duplicate' | 'failed', pending: number): void {
    this.clock.progress(pending > 0);
    this.metrics.queueDepth.set(pending);
    if (outcome === 'failed') this.metrics.publishErrors.inc();
    else if (outcome === 'published') this.metrics.eventsPublished.inc({ kind: event.kind, op: event.op });
    if (pending === 0) this.readiness(); // moves the latch as soon as the queue drains
  }

  /** A complete list of `kind` came in; the ledger now knows `objects` of it. */
  listed(kind: ObjectKind, objects: number): void {
    this.metrics.lists.inc({ kind });
    this.metrics.objects.set({ kind }, objects);
  }

  changed(kind: ObjectKind, objects: number): void {
    this.metrics.objects.set({ kind }, objects);
  }

  /** The events stream was recreated: everything is listed and published again before the watcher is ready. */
  restarted(): void {
    this.listsPublished = false;
    this.metrics.queueDepth.set(0); // the publisher dropped its queue
    this.clock.progress(false);
  }

  protected judge(f: WatcherOpsFacts): Readiness {
    if (f.standby) return { ready: true, reason: 'standby: another watcher holds the lease' };
    this.listsPublished = f.unlisted.length === 0 && (this.listsPublished || f.pending === 0);
    return watcherReadiness({ ...f, listsPublished: this.listsPublished });
  }
}
