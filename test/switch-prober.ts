import type { Backend } from '@knp/node-applier';
import type { NetnsCluster } from '@knp/sim';

export type Pair = { readonly from: string; readonly to: string };
type Waiter = { readonly round: number; readonly resolve: () => void; readonly reject: (err: Error) => void };
type Loop = { readonly pairs: readonly Pair[]; readonly want: boolean; readonly timeoutMs: number; started: number; completed: number; waiters: Waiter[] };

const PROTOCOLS = ['TCP', 'UDP'] as const;

/**
 * Probes pairs back to back (TCP and UDP) while rule sets or backends are switched, and records every
 * allowed pair that failed and every denied pair that passed. A backend wrapped by `hold` waits, before
 * each kernel step (a load or a remove), until every loop has completed a round that started after the
 * previous step finished: each state the kernel passes through between steps is probed by construction,
 * not by a sleep, and a round is in flight when every step starts.
 */
export class SwitchProber {
  readonly failures: string[] = [];
  /** Kernel steps taken through `hold`, each after a fresh round of every loop. */
  heldSteps = 0;
  private running = true;
  private readonly loops: Loop[];
  private readonly done: Promise<void[]>;

  /**
   * `allowed` pairs are probed with a long timeout (a slow machine never fails them); `denied` pairs with a
   * short one (a packet that passes where a drop is expected arrives in well under a millisecond).
   */
  constructor(private readonly cluster: NetnsCluster, pairs: { allowed: readonly Pair[]; denied: readonly Pair[]; port: number }) {
    this.loops = [
      { pairs: pairs.allowed, want: true, timeoutMs: 3_000, started: 0, completed: 0, waiters: [] },
      { pairs: pairs.denied, want: false, timeoutMs: 300, started: 0, completed: 0, waiters: [] },
    ];
    // an empty loop would never yield to the event loop
    if (this.loops.some((loop) => loop.pairs.length === 0)) throw new Error('the prober needs allowed and denied pairs');
    this.done = Promise.all(this.loops.map((loop) => this.run(loop, pairs.port)));
    this.done.catch(() => undefined); // reported by stop()
  }

  /** `backend` with each load and remove held until every loop has probed the kernel as it is then. */
  hold(backend: Backend): Backend {
    const step = async <T>(run: () => Promise<T>): Promise<T> => {
      await this.freshRounds();
      this.heldSteps += 1;
      return run();
    };
    return { ...backend, load: (next, prev) => step(() => backend.load(next, prev)), remove: () => step(() => backend.remove()) };
  }

  /** Probes the final state once more, then stops; resolves when every loop has finished its last round. */
  async stop(): Promise<void> {
    await this.freshRounds();
    this.running = false;
    await this.done;
  }

  /** Resolves when every loop has completed a round that started after this call. */
  private freshRounds(): Promise<void[]> {
    return Promise.all(this.loops.map((loop) => new Promise<void>((resolve, reject) => {
      if (!this.running) reject(new Error('the prober has stopped'));
      else loop.waiters.push({ round: loop.started + 1, resolve, reject });
    })));
  }

  private async run(loop: Loop, port: number): Promise<void> {
    try {
      while (this.running) {
        loop.started += 1;
        const probes = loop.pairs.flatMap((p) => PROTOCOLS.map((protocol) => ({ ...p, port, protocol })));
        const results = await this.cluster.probePairs(probes, loop.timeoutMs);
        results.forEach((r, i) => {
          if (r.allowed !== loop.want) this.failures.push(`${r.from} -> ${r.to} ${probes[i]!.protocol}/${port}: ${r.allowed ? 'passed' : 'failed'}`);
        });
        loop.completed += 1;
        for (const w of loop.waiters.filter((w) => w.round <= loop.completed)) w.resolve();
        loop.waiters = loop.waiters.filter((w) => w.round > loop.completed);
      }
    } finally {
      for (const w of loop.waiters) w.reject(new Error('the prober stopped before the round a kernel step waits for'));
    }
  }
}
