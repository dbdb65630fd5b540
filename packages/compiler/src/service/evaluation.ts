import { assertNever } from '@knp/shared';

/** What one evaluation did (for the benchmark and debugging). */
export type Evaluation = {
  readonly seq: number;
  readonly events: number;
  readonly nodesCompiled: number;
  readonly published: number;
  readonly compileMs: number;
  readonly totalMs: number;
  /** Per event evaluated while following: time from its arrival to the end of the evaluation. */
  readonly latenciesMs: readonly number[];
};

/**
 * Which nodes an evaluation compiles:
 * - `backlog`: the first one after the backlog: every node known to the state, to this replica or to the
 *   rules stream (so a node whose pods all left while no compiler ran still gets its empty rule set);
 * - `dirty`: following, but no event came (only parts of large events or unreadable messages): the nodes
 *   left to look at again;
 * - `affected`: following, one event: the nodes it affects, and the dirty ones;
 * - `all`: following, several events: every node (cheaper than affectedNodes per event once events pile up).
 */
export type EvaluationScope = 'backlog' | 'dirty' | 'affected' | 'all';

export function evaluationScope(caughtUp: boolean, events: number): EvaluationScope {
  if (!caughtUp) return 'backlog';
  if (events === 0) return 'dirty';
  return events === 1 ? 'affected' : 'all';
}

/** Where node names come from; the costly sources are functions, called only when the scope needs them. */
export type NodeSources = {
  /** Nodes of the folded state. */
  readonly known: () => Iterable<string>;
  /** Nodes this replica holds a rule set for. */
  readonly held: Iterable<string>;
  /** Nodes left to look at again (another replica was ahead, or a publish failed). */
  readonly dirty: Iterable<string>;
  /** Nodes with a subject on the rules stream (read by the caller for `backlog` only). */
  readonly published: Iterable<string>;
  /** Nodes the one event affects. */
  readonly affected: () => Iterable<string>;
};

/** The nodes an evaluation of `scope` compiles, sorted and each once. */
export function nodesToCompile(scope: EvaluationScope, from: NodeSources): string[] {
  switch (scope) {
    case 'backlog':
      return union(from.known(), from.held, from.published);
    case 'dirty':
      return union(from.dirty);
    case 'affected':
      return union(from.affected(), from.dirty);
    case 'all':
      return union(from.known(), from.held, from.dirty);
    default:
      return assertNever(scope);
  }
}

/**
 * Nodes this replica holds a rule set for whose subject is gone from the rules stream (purged by hand or by
 * a limit): their holding is void, so they are compiled and published again instead of skipped as unchanged.
 */
export function purgedNodes(held: Iterable<string>, published: Iterable<string>): string[] {
  const present = new Set(published);
  return [...held].filter((node) => !present.has(node)).sort();
}

const union = (...lists: Iterable<string>[]): string[] => [...new Set(lists.flatMap((list) => [...list]))].sort();

/** What the evaluation record says. */
export type EvaluationFacts = {
  readonly seq: number;
  readonly caughtUp: boolean;
  /** Arrival time of each event evaluated while following. */
  readonly arrivals: readonly number[];
  /** Events folded while catching up (counted, not timed). */
  readonly backlog: number;
  readonly compiled: number;
  readonly published: number;
  readonly compileMs: number;
  readonly startedAt: number;
  readonly endedAt: number;
};

/**
 * The record of one evaluation. Of a backlog it counts the events folded and gives no latencies: those
 * events arrived before this replica looked, so their wait says nothing about following.
 */
export function describeEvaluation(f: EvaluationFacts): Evaluation {
  return {
    seq: f.seq,
    events: f.caughtUp ? f.arrivals.length : f.backlog,
    nodesCompiled: f.compiled,
    published: f.published,
    compileMs: f.compileMs,
    totalMs: f.endedAt - f.startedAt,
    latenciesMs: f.caughtUp ? f.arrivals.map((arrivedAt) => f.endedAt - arrivedAt) : [],
  };
}
