/** A `caughtUp(seq)` call waiting for an evaluation that covers `seq`. */
export type Waiter = { readonly seq: number; readonly resolve: () => void };

/** `caughtUp(seq)` is answered once the backlog was evaluated and an evaluation covered `seq`. */
export function isCaughtUpTo(f: { readonly caughtUp: boolean; readonly evaluatedSeq: number }, seq: number): boolean {
  return f.caughtUp && f.evaluatedSeq >= seq;
}

/** The waiters an evaluation covering `evaluatedSeq` releases, and those that go on waiting (in their order). */
export function releaseWaiters<W extends { readonly seq: number }>(waiters: readonly W[], evaluatedSeq: number): { ready: W[]; waiting: W[] } {
  return { ready: waiters.filter((w) => w.seq <= evaluatedSeq), waiting: waiters.filter((w) => w.seq > evaluatedSeq) };
}
