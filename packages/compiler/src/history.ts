import type { RuleSet } from '@knp/shared';
import { affectedNodes } from './affected.js';
import { compileNode, nodesOf } from './compile-node.js';
import type { FoldEvent } from './fold-event.js';
import { diffRuleSets, type RuleSetDiff } from './rule-set-diff.js';
import type { ClusterState } from './state.js';

/** One version of a node's rule set: the event that made it, when the stream stored it, and what changed. */
export type HistoryEntry = {
  readonly node: string;
  readonly seq: number;
  readonly timeMs: number;
  readonly hash: string;
  readonly diff: RuleSetDiff;
};

/**
 * Recomputes the versions of nodes' rule sets from a fold, event by event: after each event, the nodes it
 * affects (`affectedNodes`) are compiled again, and a node whose content hash changed gets an entry, as a
 * compiler evaluating every event would publish it. Pure apart from its own memory; `track` limits it to
 * some nodes (all nodes when undefined).
 */
export class HistoryRecorder {
  private readonly current = new Map<string, RuleSet>();
  readonly entries: HistoryEntry[] = [];

  constructor(private readonly track?: ReadonlySet<string>) {}

  /** The versions in force at the base state (a snapshot, or the empty state): recorded at its sequence. */
  begin(state: ClusterState, timeMs = 0): void {
    for (const node of this.nodes(nodesOf(state))) this.observeNode(state, node, state.seq, timeMs);
  }

  /** One folded event; `before` and `after` are the states around it. */
  observe(before: ClusterState, after: ClusterState, event: FoldEvent | undefined, seq: number, timeMs: number): void {
    if (!event) return;
    for (const node of this.nodes(affectedNodes(before, after, event))) this.observeNode(after, node, seq, timeMs);
  }

  /** The rule set each node had after the last event observed. */
  inForce(): ReadonlyMap<string, RuleSet> {
    return this.current;
  }

  private nodes(candidates: readonly string[]): string[] {
    return this.track ? candidates.filter((n) => this.track!.has(n)) : [...candidates];
  }

  private observeNode(state: ClusterState, node: string, seq: number, timeMs: number): void {
    const { ruleSet } = compileNode(state, node, { epoch: state.epoch, seq });
    const previous = this.current.get(node);
    if (previous?.contentHash === ruleSet.contentHash) return;
    if (!previous && ruleSet.pods.length === 0 && ruleSet.rules.length === 0) return; // a node we never saw, still empty
    this.current.set(node, ruleSet);
    this.entries.push({ node, seq, timeMs, hash: ruleSet.contentHash, diff: diffRuleSets(previous, ruleSet) });
  }
}
