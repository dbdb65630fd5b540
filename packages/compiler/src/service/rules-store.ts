import { SETS_SWEEP_GRACE_MS, names, versionRefusal, type Logger, type RuleSet, type SigningKey, type Trust } from '@knp/shared';
import { NodeWriter, SetCache, sweepSets, type NodeTransport, type WriteOutcome } from '@knp/shared/nats';
import { RECEIVED_AT_HEADER, receivedAtText } from '@knp/shared/ops';
import type { JetStreamClient, JetStreamManager } from 'nats';
import type { PublishDecision } from './publish-decision.js';

/** What a replica signs with and trusts, and the events epoch its pass folds. */
export type RulesTrust = { readonly epoch: string; readonly signer: SigningKey | undefined; readonly trust: Trust };

/** `duplicate`: another replica stored this very version (same message id) first; `bytes`: the payload stored. */
export type PublishOutcome = { readonly decision: PublishDecision; readonly ruleSet: RuleSet | undefined; readonly duplicate?: boolean; readonly bytes?: number; readonly kind?: 'full' | 'delta' | 'pointer' };

const outcomeOf = (out: WriteOutcome): PublishOutcome => ({
  decision: out.decision, ruleSet: out.ruleSet, ...(out.duplicate ? { duplicate: true } : {}), ...(out.bytes !== undefined ? { bytes: out.bytes } : {}), ...(out.kind ? { kind: out.kind } : {}),
});

/**
 * The rules stream seen by one replica, through the node transport (NodeWriter): each node's subject
 * carries FULL and DELTA messages naming set contents in the set store. A publish never stores an older
 * version over a newer one: the writer holds each subject's head and names its last sequence, and a
 * conflict (another replica published) means read again and decide again (adopt, behind, or a message on
 * what is there). A head that fails the applier's version checks (foreign epoch, a seq the events stream
 * has not reached) or a refused newest message (unsigned, untrusted, bad hash) is published over, never
 * deferred to.
 */
export class RulesStore {
  private readonly n;
  private readonly writer: NodeWriter;
  private readonly transport: NodeTransport;
  /** The events stream's last sequence as last read: a published seq past it is a forgery. */
  private eventsLastSeq = 0;

  constructor(
    js: JetStreamClient, private readonly jsm: JetStreamManager, prefix: string, maxPayload: number, private readonly log: Logger, private readonly trusted: RulesTrust,
    private readonly opts: { readonly pointerMinNodes?: number } = {},
  ) {
    this.n = names(prefix);
    this.transport = { js, jsm, prefix, maxPayload, trust: trusted.trust, signer: trusted.signer };
    this.writer = new NodeWriter(this.transport, new SetCache(), {
      usable: (rs) => this.usable(rs),
      onPointerError: (err) => this.log.warn({ err }, 'storing an event manifest failed: its nodes were published as FULL or DELTA'),
    });
  }

  /**
   * Publishes the rule sets of one evaluation, each unless its subject already holds its content or a newer
   * version (see decidePublish); nodes whose only change is set contents share one signed manifest
   * (NodeWriter.publishMany). `receivedAtMs`: the earliest watcher receive time of the events behind them,
   * sent as RECEIVED_AT_HEADER. Each result, or its error, in the order given.
   */
  async publishMany(ruleSets: readonly RuleSet[], receivedAtMs?: number): Promise<(PublishOutcome | Error)[]> {
    const headers = receivedAtMs === undefined ? undefined : new Map([[RECEIVED_AT_HEADER, receivedAtText(receivedAtMs)]]);
    const results = await this.writer.publishMany(ruleSets, headers, this.opts.pointerMinNodes === undefined ? {} : { min: this.opts.pointerMinNodes });
    return results.map((r, i) => {
      if (r.status === 'rejected') return r.reason instanceof Error ? r.reason : new Error(String(r.reason));
      if (r.value.decision !== 'publish') this.log.debug({ node: ruleSets[i]!.node, decision: r.value.decision }, 'rule set not published');
      return outcomeOf(r.value);
    });
  }

  /** Drops the cached head of a node's subject (the subject was purged): the next publish reads it again. */
  forget(node: string): void {
    this.writer.forget(node);
  }

  /**
   * Background upkeep, off the event path: a FULL of the head for each node FULL_EVERY deltas past its last
   * FULL (so readers start close to the head), set contents stored whole once their member-delta chains are
   * long, and set contents no retained message names removed from the store (after a grace period).
   */
  async upkeep(opts: { sweep: boolean }): Promise<{ compacted: number; setsCompacted: number; setsPurged: number }> {
    let compacted = 0;
    for (const node of this.writer.dueForCompaction()) if (await this.writer.compact(node)) compacted += 1;
    const setsCompacted = await this.writer.compactSets();
    const setsPurged = opts.sweep ? (await sweepSets(this.transport, { graceMs: SETS_SWEEP_GRACE_MS })).purged : 0;
    return { compacted, setsCompacted, setsPurged };
  }

  /** Whether a version read back from a subject is one to build on: of this epoch and not past the events stream. */
  private async usable(ruleSet: RuleSet): Promise<boolean> {
    const judge = () => versionRefusal(ruleSet.version, { epoch: this.trusted.epoch, lastSeq: this.eventsLastSeq });
    let refusal = judge();
    if (refusal?.reason === 'future-seq') {
      this.eventsLastSeq = (await this.jsm.streams.info(this.n.eventsStream)).state.last_seq;
      refusal = judge();
    }
    if (refusal) this.log.warn({ node: ruleSet.node, version: ruleSet.version, reason: refusal.reason, detail: refusal.detail }, 'published rule set invalid, publishing over it');
    return refusal === undefined;
  }

  /** Nodes that have a rules subject (so a node whose last pod left while no compiler ran still gets its empty rule set). */
  async publishedNodes(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.n.rulesStream, { subjects_filter: this.n.rulesSubjects });
    return Object.keys(info.state.subjects ?? {}).flatMap((s) => this.n.nodeOfRulesSubject(s) ?? []).sort();
  }
}
