import { performance } from 'node:perf_hooks';
import { MANIFEST_NODES, type Logger, type RuleSet } from '@knp/shared';
import { compileNode } from '../compile-node.js';
import type { ClusterState } from '../state.js';
import { bookPublish, isHeld, type PublishCounters } from './publish-booking.js';
import type { PublishOutcome } from './rules-store.js';
import type { Session } from './session.js';

/**
 * Nodes compiled, then published together (NodeWriter.publishMany: those whose only change is set contents
 * share one signed manifest; a manifest holds MANIFEST_NODES = 32). While one batch publishes, the next
 * compiles, yielding to I/O between nodes, so publishing overlaps compiling; at most two batches of rule
 * sets are held at once.
 */
const PUBLISH_BATCH = MANIFEST_NODES;

export type Published = { readonly compiled: number; readonly published: number; readonly compileMs: number };

/** The series' view of publishing (see CompilerOps) and the receive time to stamp on what is published. */
export type PublishHooks = {
  /** The earliest watcher receive time of the events this evaluation covers (following only). */
  readonly receivedAtMs?: number | undefined;
  readonly published?: (node: string, bytes: number) => void;
  readonly failed?: () => void;
};

const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Compiles `nodes` at the folded state `at` and publishes those whose content differs from what the
 * session holds, PUBLISH_BATCH nodes at a time.
 */
export async function publishNodes(s: Session, at: ClusterState, nodes: readonly string[], counters: PublishCounters, log: Logger, hooks: PublishHooks = {}): Promise<Published> {
  const version = { epoch: s.epoch, seq: at.seq };
  let compiled = 0, published = 0, compileMs = 0;
  let batch: RuleSet[] = [];
  let publishing: Promise<void> | undefined;
  const publish = async (ruleSets: readonly RuleSet[]): Promise<void> => {
    if (ruleSets.length === 0) return;
    const outcomes = await s.rules.publishMany(ruleSets, hooks.receivedAtMs);
    ruleSets.forEach((ruleSet, i) => {
      if (book(s, ruleSet, outcomes[i]!, counters, log, hooks)) published += 1;
    });
  };
  try {
    for (const node of nodes) {
      const t0 = performance.now();
      const { ruleSet } = compileNode(at, node, version);
      compileMs += performance.now() - t0;
      compiled += 1;
      if (!isHeld(s.view.get(node), ruleSet)) batch.push(ruleSet);
      else s.dirty.delete(node);
      if (batch.length >= PUBLISH_BATCH) {
        await publishing;
        publishing = publish(batch);
        // a failure is thrown at the next await of it, never an unhandled rejection while the next batch compiles
        publishing.catch(() => undefined);
        batch = [];
      } else if (publishing) await yieldToIo();
    }
  } catch (err) {
    // a compile that threw still lets the batch in flight finish and book, before the next evaluation
    await publishing?.catch(() => undefined);
    throw err;
  }
  await publishing;
  await publish(batch);
  return { compiled, published, compileMs };
}

/** Books one node's publish outcome (or its failure: retried at the next evaluation); true if it stored a new version. */
function book(s: Session, ruleSet: RuleSet, result: PublishOutcome | Error, counters: PublishCounters, log: Logger, hooks: PublishHooks): boolean {
  const node = ruleSet.node;
  let outcome: PublishOutcome | 'failed';
  if (result instanceof Error) {
    log.error({ err: result, node, version: ruleSet.version }, 'rule set publish failed, retrying at the next evaluation');
    outcome = 'failed';
    hooks.failed?.();
  } else outcome = result;
  const booking = bookPublish(outcome);
  counters[booking.counter] += 1;
  if (booking.hold) s.view.set(node, booking.hold);
  if (booking.recheck) s.dirty.add(node);
  else s.dirty.delete(node);
  if (booking.counter !== 'published') return false;
  hooks.published?.(node, outcome === 'failed' ? 0 : (outcome.bytes ?? 0));
  log.info({ node, version: ruleSet.version, hash: ruleSet.contentHash, pods: ruleSet.pods.length }, 'rule set published');
  return true;
}
