import { performance } from 'node:perf_hooks';
import type { Logger, RuleSet } from '@knp/shared';
import { compileNode } from '../compile-node.js';
import type { ClusterState } from '../state.js';
import { bookPublish, isHeld, type PublishCounters } from './publish-booking.js';
import type { PublishOutcome } from './rules-store.js';
import type { Session } from './session.js';

/** Publishes in flight while the next nodes compile (one per node, so a node's read-decide-publish never interleaves with itself). */
const PUBLISHES_IN_FLIGHT = 8;

export type Published = { readonly compiled: number; readonly published: number; readonly compileMs: number };

/** The series' view of publishing (see CompilerOps) and the receive time to stamp on what is published. */
export type PublishHooks = {
  /** The earliest watcher receive time of the events this evaluation covers (following only). */
  readonly receivedAtMs?: number | undefined;
  readonly published?: (node: string, bytes: number) => void;
  readonly failed?: () => void;
};

/**
 * Compiles `nodes` at the folded state `at` and publishes those whose content differs from what the
 * session holds. Compiling (CPU) overlaps with up to PUBLISHES_IN_FLIGHT publishes.
 */
export async function publishNodes(s: Session, at: ClusterState, nodes: readonly string[], counters: PublishCounters, log: Logger, hooks: PublishHooks = {}): Promise<Published> {
  const version = { epoch: s.epoch, seq: at.seq };
  let compiled = 0, published = 0, compileMs = 0;
  const inFlight = new Set<Promise<void>>();
  for (const node of nodes) {
    const t0 = performance.now();
    const { ruleSet } = compileNode(at, node, version);
    compileMs += performance.now() - t0;
    compiled += 1;
    if (isHeld(s.view.get(node), ruleSet)) {
      s.dirty.delete(node);
      continue;
    }
    const p: Promise<void> = publishOne(s, ruleSet, counters, log, hooks).then((done) => {
      if (done) published += 1;
      inFlight.delete(p);
    });
    inFlight.add(p);
    if (inFlight.size >= PUBLISHES_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { compiled, published, compileMs };
}

/** Publishes one node's rule set through the rules stream's arbitration and books the outcome; true if it stored a new version. */
async function publishOne(s: Session, ruleSet: RuleSet, counters: PublishCounters, log: Logger, hooks: PublishHooks): Promise<boolean> {
  const node = ruleSet.node;
  let outcome: PublishOutcome | 'failed';
  try {
    outcome = await s.rules.publish(ruleSet, hooks.receivedAtMs);
  } catch (err) {
    log.error({ err, node, version: ruleSet.version }, 'rule set publish failed, retrying at the next evaluation');
    outcome = 'failed';
    hooks.failed?.();
  }
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
