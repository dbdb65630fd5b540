import { checkRuleSet, names, type Logger, type RuleSet, type RuleSetCheck, type SigningKey, type Trust } from '@knp/shared';
import { isNotFound, isWrongLastSequence, publishLarge, readLarge, receivedRuleSet, ruleSetMsgHeaders } from '@knp/shared/nats';
import { RECEIVED_AT_HEADER, receivedAtText } from '@knp/shared/ops';
import type { JetStreamClient, JetStreamManager, MsgHdrs } from 'nats';
import { decidePublish, ruleSetMessageId, type PublishDecision } from './publish-decision.js';

/** The last message on a node's rules subject: its subject sequence (0 when none) and the rule set, if readable. */
export type LastPublished = { readonly subjectSeq: number; readonly ruleSet: RuleSet | undefined };

/** What a replica signs with and trusts, and the events epoch its pass folds. */
export type RulesTrust = { readonly epoch: string; readonly signer: SigningKey | undefined; readonly trust: Trust };

/** `duplicate`: another replica stored this very version (same message id) first; `bytes`: the payload stored. */
export type PublishOutcome = { readonly decision: PublishDecision; readonly ruleSet: RuleSet | undefined; readonly duplicate?: boolean; readonly bytes?: number };


/**
 * The rules stream seen by one replica: reads the last rule set per node and publishes new ones without
 * ever storing an older version over a newer one. The subject sequence of the last message is cached; a
 * publish names it as the expected last subject sequence, and a mismatch (another replica published) means
 * re-read and decide again.
 */
export class RulesStore {
  private readonly last = new Map<string, LastPublished>();
  private readonly n;
  /** The events stream's last sequence as last read: a published seq past it is a forgery. */
  private eventsLastSeq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    prefix: string,
    private readonly maxPayload: number,
    private readonly log: Logger,
    private readonly trusted: RulesTrust,
  ) {
    this.n = names(prefix);
  }

  /**
   * Reads (and caches) the last message of a node's subject. An unreadable one, or one that fails the
   * applier's checks (unsigned, untrusted, bad hash, foreign epoch, future seq), counts as "some older
   * version": a valid version is published over it instead of deferring to it.
   */
  async read(node: string): Promise<LastPublished> {
    const subject = this.n.rulesSubject(node);
    let found: LastPublished;
    try {
      const m = await this.jsm.streams.getMessage(this.n.rulesStream, { last_by_subj: subject });
      let ruleSet: RuleSet | undefined;
      try {
        const data = await readLarge(this.jsm, this.n.rulesStream, { subject: m.subject, data: m.data, headers: m.header });
        const check = data === undefined ? undefined : await this.check(node, m.header, data);
        if (check?.kind === 'refuse') this.log.warn({ node, seq: m.seq, reason: check.reason, detail: check.detail }, 'published rule set invalid, publishing over it');
        ruleSet = check?.kind === 'accept' ? check.ruleSet : undefined;
      } catch (err) {
        this.log.warn({ err, node, seq: m.seq }, 'published rule set unreadable, publishing over it');
      }
      found = { subjectSeq: m.seq, ruleSet };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      found = { subjectSeq: 0, ruleSet: undefined };
    }
    this.last.set(node, found);
    return found;
  }

  /**
   * Publishes `ruleSet` unless the subject already holds its content or a newer version (see decidePublish).
   * `receivedAtMs`: the earliest watcher receive time of the events behind it, sent as RECEIVED_AT_HEADER.
   */
  async publish(ruleSet: RuleSet, receivedAtMs?: number): Promise<PublishOutcome> {
    const subject = this.n.rulesSubject(ruleSet.node);
    const data = Buffer.from(JSON.stringify(ruleSet), 'utf8');
    // a duplicate ack whose original is gone from the subject (purged by hand) stored nothing: publish without the id
    let withoutId = false;
    for (let attempt = 0; ; attempt += 1) {
      const last = this.last.get(ruleSet.node) ?? (await this.read(ruleSet.node));
      const decision = decidePublish(ruleSet, last.ruleSet);
      if (decision !== 'publish') return { decision, ruleSet: last.ruleSet };
      try {
        const ack = await publishLarge(this.js, subject, data, {
          maxPayload: this.maxPayload,
          ...(withoutId ? {} : { msgID: ruleSetMessageId(ruleSet, last.subjectSeq) }),
          // fresh headers each attempt: the client writes the msg id into the headers object it is given
          headers: withReceivedAt(ruleSetMsgHeaders(this.trusted.signer, ruleSet), receivedAtMs),
          expect: { lastSubjectSequence: last.subjectSeq },
        });
        if (ack.duplicate && !withoutId && (await this.read(ruleSet.node)).subjectSeq !== ack.seq) {
          withoutId = true;
          continue;
        }
        // a duplicate ack: another replica stored this very version (same id) first; it is the same content
        this.last.set(ruleSet.node, { subjectSeq: ack.seq, ruleSet });
        return { decision, ruleSet, duplicate: ack.duplicate, bytes: data.length };
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt >= 20) throw err;
        this.log.debug({ node: ruleSet.node, version: ruleSet.version }, 'rules subject moved, reading it again');
        this.last.delete(ruleSet.node);
      }
    }
  }

  /** Drops the cached last message of a node's subject (the subject was purged): the next publish reads it again. */
  forget(node: string): void {
    this.last.delete(node);
  }

  /** The applier's checks on a published rule set; the events stream is read again only for a seq past the last seen. */
  private async check(node: string, h: MsgHdrs | undefined, body: Uint8Array): Promise<RuleSetCheck> {
    const received = receivedRuleSet(h, body);
    const run = (): RuleSetCheck => checkRuleSet(received, this.trusted.trust, node, { epoch: this.trusted.epoch, lastSeq: this.eventsLastSeq }, undefined);
    const first = run();
    if (first.kind !== 'refuse' || first.reason !== 'future-seq') return first;
    this.eventsLastSeq = (await this.jsm.streams.info(this.n.eventsStream)).state.last_seq;
    return run();
  }

  /** Nodes that have a rules subject (so a node whose last pod left while no compiler ran still gets its empty rule set). */
  async publishedNodes(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.n.rulesStream, { subjects_filter: this.n.rulesSubjects });
    return Object.keys(info.state.subjects ?? {}).flatMap((s) => this.n.nodeOfRulesSubject(s) ?? []).sort();
  }
}

/** Adds the receive time (telemetry, not part of what is signed) to a rule set message's headers. */
function withReceivedAt(h: MsgHdrs, receivedAtMs: number | undefined): MsgHdrs {
  if (receivedAtMs !== undefined) h.set(RECEIVED_AT_HEADER, receivedAtText(receivedAtMs));
  return h;
}
