import { compareVersions, contentHash, epochInstant, sameEpoch, type RuleSet, type RuleSetVersion } from '../ruleset.js';
import { admitRuleSet } from './admit-rule-set.js';
import { parseStatement, type RuleSetStatement } from './statement.js';
import { checkSignature, type RefusalReason, type Signature, type Trust } from './trust.js';

/** A message from the node's rules subject as the shell found it: the statement and signature headers, and the content. */
export type ReceivedRuleSet = { readonly statement: string | undefined; readonly signature: Signature; readonly body: Uint8Array };

/** The events stream as the applier read it: its epoch (`created`) and last sequence. */
export type EventsPosition = { readonly epoch: string; readonly lastSeq: number };

export type RuleSetCheck =
  | { readonly kind: 'accept'; readonly ruleSet: RuleSet }
  /** Valid, but not newer than the rules in force (a redelivery, or the catch-up read seen again): nothing to do. */
  | { readonly kind: 'stale'; readonly ruleSet: RuleSet; readonly applied: RuleSetVersion }
  | { readonly kind: 'refuse'; readonly reason: RefusalReason; readonly detail: string; readonly version?: RuleSetVersion };

/**
 * Whether the applier of `node` may apply a rule set (and whether a compiler may leave it standing), in a fixed order: the signature over the statement
 * (when compiler keys are trusted) -> the statement names this node -> the content is a rule set that
 * agrees with the statement and hashes to its contentHash -> its epoch is the events stream's current one
 * (as instants) -> its seq is one the events stream has reached -> it is newer than `applied`.
 * A forged version therefore cannot be stored, and so cannot freeze the node.
 */
export function checkRuleSet(received: ReceivedRuleSet, trust: Trust, node: string, events: EventsPosition, applied: RuleSetVersion | undefined): RuleSetCheck {
  if (trust.mode === 'signed') {
    if (received.statement === undefined) return refuse('unsigned', 'no statement header, and signing is required');
    const refusal = checkSignature(trust, received.signature, Buffer.from(received.statement, 'utf8'));
    if (refusal) return refuse(refusal.reason, refusal.detail);
  }
  const stated = received.statement === undefined ? undefined : parseStatement(received.statement);
  if (received.statement !== undefined && stated === undefined) return refuse('malformed', 'statement header is not {node, epoch, seq, contentHash}');
  if (stated && stated.node !== node) return refuse('wrong-node', `statement names node ${JSON.stringify(stated.node)}, this applier enforces ${JSON.stringify(node)}`);

  const admission = admitRuleSet(received.body, node);
  if (admission.kind === 'refuse') return refuse(admission.reason.startsWith('rule set addressed to node') ? 'wrong-node' : 'malformed', admission.reason, admission.version);
  const ruleSet = admission.ruleSet;
  const statement: RuleSetStatement = stated ?? { node, epoch: ruleSet.version.epoch, seq: ruleSet.version.seq, contentHash: ruleSet.contentHash };
  const version = { epoch: statement.epoch, seq: statement.seq };
  if (ruleSet.version.epoch !== statement.epoch || ruleSet.version.seq !== statement.seq || ruleSet.contentHash !== statement.contentHash)
    return refuse('malformed', 'the rule set disagrees with its statement (version or contentHash)', version);
  const actual = contentHash(ruleSet);
  if (actual !== statement.contentHash) return refuse('hash-mismatch', `content hashes to ${actual.slice(0, 12)}, statement says ${statement.contentHash.slice(0, 12)}`, version);

  const refusal = versionRefusal(version, events);
  if (refusal) return refuse(refusal.reason, refusal.detail, version);
  if (applied && compareVersions(version, applied) <= 0) return { kind: 'stale', ruleSet, applied };
  return { kind: 'accept', ruleSet };
}

/** A version the events stream cannot have produced: another epoch (as instants), or a seq it has not reached. */
export function versionRefusal(version: RuleSetVersion, events: EventsPosition): { readonly reason: RefusalReason; readonly detail: string } | undefined {
  if (!sameEpoch(version.epoch, events.epoch))
    return { reason: 'foreign-epoch', detail: `epoch ${JSON.stringify(version.epoch)} is not the events stream's (${events.epoch})${epochInstant(version.epoch) === undefined ? ', nor a time' : ''}` };
  if (version.seq > events.lastSeq) return { reason: 'future-seq', detail: `seq ${version.seq} is past the events stream's last sequence ${events.lastSeq}` };
  return undefined;
}

function refuse(reason: RefusalReason, detail: string, version?: RuleSetVersion): RuleSetCheck {
  return { kind: 'refuse', reason, detail, ...(version ? { version } : {}) };
}
