import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { serviceRegistry } from './metrics.js';
import { startOpsServer, type OpsServer, type Readiness } from './ops-server.js';
import { STUCK_AFTER_MS, isAlive } from './readiness.js';

/**
 * Since when the service has had work without progress: `busy()` when work arrives, `progress(stillBusy)`
 * whenever a step of it ends (undefined again once nothing is left). Feeds `isAlive`.
 */
export class ProgressClock {
  private since: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  busy(): void {
    this.since ??= this.now();
  }

  progress(stillBusy: boolean): void {
    this.since = stillBusy ? this.now() : undefined;
  }

  get busySinceMs(): number | undefined {
    return this.since;
  }
}

/**
 * What each service's ops object (WatcherOps, CompilerOps, ApplierOps) shares: a registry with the process
 * defaults, the liveness clock, and the endpoints served on KNP_HTTP_PORT. They are served before the
 * service connects (a start waiting for NATS is alive, not ready); the service then `attach`es where its
 * facts are read. A subclass adds its series and the methods the service calls where things happen, and
 * judges readiness from the facts (`judge`).
 */
export abstract class ServiceOps<F> {
  protected readonly registry: Registry;
  protected readonly clock = new ProgressClock();
  private server: OpsServer | undefined;
  private source: (() => F) | undefined;

  constructor(service: string) {
    this.registry = serviceRegistry(service);
  }

  /** Where the service's facts are read from, once the service exists. */
  attach(source: () => F): void {
    this.source = source;
  }

  /** The service's facts now; undefined while it starts. */
  protected facts(): F | undefined {
    return this.source?.();
  }

  protected abstract judge(facts: F): Readiness;

  readiness(): Readiness {
    const facts = this.facts();
    return facts === undefined ? { ready: false, reason: 'starting: connecting to NATS' } : this.judge(facts);
  }

  alive(): boolean {
    return isAlive({ busySinceMs: this.clock.busySinceMs, nowMs: Date.now(), stuckAfterMs: STUCK_AFTER_MS });
  }

  /**
   * Serves /healthz, /readyz and /metrics on `port` (undefined = not served, 0 = any free port) and returns
   * the bound port. A port that cannot be bound fails the service's start.
   */
  async serve(port: number | undefined, log: Logger): Promise<number | undefined> {
    if (port === undefined) return undefined;
    this.server = await startOpsServer(port, { registry: this.registry, readiness: () => this.readiness(), alive: () => this.alive() });
    log.info({ port: this.server.port }, 'serving /healthz, /readyz and /metrics');
    return this.server.port;
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}
