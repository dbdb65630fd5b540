import { compareVersions, type AddressSet, type RuleSet, type RuleSetVersion } from '../ruleset.js';
import { deltaMessage, expandNodeMessage, fullMessage, type NodeMessage, type SetLookup } from './node-message.js';
import type { SetRef } from './set-content.js';

/**
 * Chain bounds per node subject. A writer publishes a FULL on the event path only when it must (nothing to
 * build on, the delta is not smaller, or MAX_DELTAS deltas follow the newest FULL already); it compacts in the
 * background (a FULL of the head's own content and version, a no-op for a reader that holds it) once
 * FULL_EVERY deltas follow the FULL, so a FULL's size is not paid by whichever event comes next. A subject
 * keeping NODE_SUBJECT_MESSAGES messages therefore always holds its newest FULL, and a reader applies at
 * most MAX_DELTAS deltas to reach the head.
 */
export const FULL_EVERY = 64;
export const MAX_DELTAS = 127;
export const NODE_SUBJECT_MESSAGES = MAX_DELTAS + 1;

/** What a writer knows of the node's subject: the newest content (expanded) and deltas since its FULL (0: it is one). */
export type ChainHead = { readonly ruleSet: RuleSet; readonly sinceFull: number };

/**
 * The message that moves the subject from `head` to `next`: a FULL when there is no head to build on, the
 * chain is at MAX_DELTAS, or the delta would not be smaller; else the DELTA. `sets`: the contents it names
 * that the store must hold before it is published; `text`: the message as JSON (what travels).
 */
export function nextNodeMessage(
  head: ChainHead | undefined,
  next: RuleSet,
  maxDeltas = MAX_DELTAS,
  /** The DELTA from some base to `next`, computed already: used when its base is the head's content. */
  known?: ReturnType<typeof deltaMessage>,
): { readonly message: NodeMessage; readonly sets: readonly AddressSet[]; readonly text: string } {
  const full = fullMessage(next);
  const whole = () => ({ ...full, text: JSON.stringify(full.message) });
  if (head === undefined || head.ruleSet.node !== next.node || head.sinceFull >= maxDeltas) return whole();
  const same = (a: RuleSetVersion, b: RuleSetVersion): boolean => a.epoch === b.epoch && a.seq === b.seq;
  const fits = (d: ReturnType<typeof deltaMessage>): boolean =>
    d.message.base.contentHash === head.ruleSet.contentHash && same(d.message.base.version, head.ruleSet.version) &&
    d.message.contentHash === next.contentHash && same(d.message.version, next.version);
  const delta = known && fits(known) ? known : deltaMessage(head.ruleSet, next);
  const text = JSON.stringify(delta.message);
  // a small delta is sent without encoding the FULL to compare (that costs a node's whole rule set per
  // publish); a FULL is never much smaller than DELTA_SURE_BYTES, and the chain is bounded by maxDeltas anyway
  if (text.length <= DELTA_SURE_BYTES) return { ...delta, text };
  const fullText = JSON.stringify(full.message);
  return Buffer.byteLength(text, 'utf8') < Buffer.byteLength(fullText, 'utf8') ? { ...delta, text } : { ...full, text: fullText };
}

/** A DELTA at most this long (UTF-16 units of its JSON) is taken without comparing it with the FULL. */
export const DELTA_SURE_BYTES = 4096;

/** Whether the background compaction should publish a FULL of the head (same content, same version). */
export const compactionDue = (head: ChainHead, fullEvery = FULL_EVERY): boolean => head.sinceFull >= fullEvery;

/** The head after `message` was stored on top of it. */
export function advanceHead(head: ChainHead | undefined, message: NodeMessage, ruleSet: RuleSet): ChainHead {
  return { ruleSet, sinceFull: message.kind === 'full' ? 0 : (head?.sinceFull ?? 0) + 1 };
}

/** Bytes of a message as it travels (UTF-8 JSON). */
export function encodedBytes(message: unknown): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

export type Reconstruction =
  /** `fullAt`: the index in `messages` of the FULL the head was built from. */
  | { readonly kind: 'ok'; readonly head: ChainHead; readonly skipped: number; readonly fullAt: number }
  | { readonly kind: 'missing'; readonly refs: readonly SetRef[] }
  | { readonly kind: 'empty' };

/**
 * The newest content of a node subject from its retained messages (oldest first, already admitted: signed,
 * for this node): start at the newest FULL and apply each DELTA whose base is the content reached. A message
 * that does not build on it (refused, wrong base) is skipped and counted; the writer publishes a FULL over
 * such a chain. Used by every reader without a usable base: a new applier, `knp status`, explain, history,
 * a starting compiler. `missing`: set contents to fetch before calling again.
 */
export function reconstructNewest(messages: readonly NodeMessage[], lookup: SetLookup): Reconstruction {
  let start = -1;
  for (let i = messages.length - 1; i >= 0 && start < 0; i--) if (messages[i]!.kind === 'full') start = i;
  if (start < 0) return { kind: 'empty' };
  let head: ChainHead | undefined;
  let skipped = 0;
  for (const message of messages.slice(start)) {
    // a version older than the one reached (an old signed message, or an old pointer, published again)
    // is no step forward: a writer never publishes one after a newer. Skipped before it is expanded, so the
    // set contents it names are never fetched: they may be long swept, and must not fail the whole read
    if (head && compareVersions(message.version, head.ruleSet.version) < 0) {
      skipped += 1;
      continue;
    }
    const expansion = expandNodeMessage(message, head?.ruleSet, lookup);
    if (expansion.kind === 'missing') return expansion;
    if (expansion.kind === 'refuse') skipped += 1;
    else head = advanceHead(head, message, expansion.ruleSet);
  }
  return head === undefined ? { kind: 'empty' } : { kind: 'ok', head, skipped, fullAt: start };
}
