import type { Logger, RuleSet } from '@knp/shared';
import type { Backend, KernelObjects, LoadReport } from '../backend.js';

/** The stored rule set's content hash and the kernel listing digest taken right after it was loaded. */
export type Remembered = { readonly contentHash: string; readonly fingerprint: string };

/**
 * A Backend wrapper for the service: counts the transactions really sent to the kernel, hands the listing
 * digest read back after each load to `onReadBack` (the state file keeps it), and skips the first load after
 * a restart when the kernel still lists exactly what the state file says was loaded (issue 7: "restart the
 * applier: no kernel write"). The Applier core queues its read-back right behind each load, so the first
 * `observe` after a load is that read-back.
 */
export class KernelMemory implements Backend {
  private writes = 0;
  private remembered: Remembered | undefined;
  private awaitingReadBack: string | undefined;

  constructor(
    private readonly inner: Backend,
    remembered: Remembered | undefined,
    private readonly log: Logger,
    private readonly onReadBack: (contentHash: string, fingerprint: string) => void,
  ) {
    this.remembered = remembered;
  }

  get kind(): Backend['kind'] {
    return this.inner.kind;
  }

  /** Transactions sent to the kernel by this process. */
  get kernelWrites(): number {
    return this.writes;
  }

  async load(next: RuleSet, prev: RuleSet | undefined): Promise<LoadReport> {
    const remembered = this.remembered;
    this.remembered = undefined; // only the very first load can find its rules already in place
    this.awaitingReadBack = undefined;
    if (prev === undefined && remembered?.contentHash === next.contentHash) {
      const seen = await this.inner.observe().catch(() => undefined);
      if (seen === remembered.fingerprint) {
        this.log.info({ version: next.version, hash: next.contentHash }, 'kernel already holds the stored rule set, nothing written');
        this.awaitingReadBack = next.contentHash;
        return { mode: 'full', scriptBytes: 0, kernelMs: 0 };
      }
    }
    const report = await this.inner.load(next, prev);
    this.writes += 1;
    this.awaitingReadBack = next.contentHash;
    return report;
  }

  check(next: RuleSet): Promise<void> {
    return this.inner.check(next);
  }

  async observe(): Promise<string | undefined> {
    const fingerprint = await this.inner.observe();
    const hash = this.awaitingReadBack;
    this.awaitingReadBack = undefined;
    if (hash !== undefined && fingerprint !== undefined) this.onReadBack(hash, fingerprint);
    return fingerprint;
  }

  remove(): Promise<void> {
    return this.inner.remove();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** The counts for the metrics; never throws (a plan the renderer refuses has no counts: metrics must not fail a rule set). */
  objects(ruleSet: RuleSet): KernelObjects | undefined {
    try {
      return this.inner.objects?.(ruleSet);
    } catch {
      return undefined;
    }
  }
}
