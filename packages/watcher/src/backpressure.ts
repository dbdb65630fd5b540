/**
 * The bound on the queue between the informers and the publisher. Over `maxQueue` events waiting for the
 * stream, the watcher stops its informers (it stops consuming the API); at half the bound it starts them
 * again, and their first list brings back, through the ledger, exactly what changed meanwhile. We stop
 * rather than drop: a dropped event is one the ledger already counts as published, so dropping would
 * force forgetting the ledger and republishing every object, the very burst the bound is there to absorb.
 * The queue may still pass the bound by what one list (or one watch chunk in flight) brings.
 */
export const DEFAULT_MAX_QUEUE = 10_000;

export type Flow = 'flowing' | 'paused';

export function nextFlow(flow: Flow, pending: number, maxQueue: number): Flow {
  if (flow === 'flowing') return pending > maxQueue ? 'paused' : 'flowing';
  return pending <= Math.floor(maxQueue / 2) ? 'flowing' : 'paused';
}
