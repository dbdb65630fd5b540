import { canonicalJson, sha256 } from '../canonical.js';
import type { ReceivedRuleSet } from '../signing/check-rule-set.js';
import type { SigningKey } from '../signing/keys.js';
import { STATEMENT_HEADER } from '../signing/statement.js';
import { checkSignature, signatureHeaders, type RefusalReason, type Trust } from '../signing/trust.js';
import type { NodeMessage } from './node-message.js';
import { encodeManifest, manifestRef, type EventManifest } from './manifest.js';
import { parseManifest, parseNodeMessage, parseSetContent } from './parse.js';
import { setContentRef, type SetContent, type SetRef } from './set-content.js';

/**
 * What a compiler signs for a node message, in the same `Knp-Statement` header as a whole rule set's:
 * `{node, epoch, seq, contentHash}` plus, for a DELTA, `base` (the content hash it applies on). For a set
 * store message: `{set, hash}`. The signature covers these bytes; the reader then checks that the body
 * agrees with them and, once expanded, hashes to them.
 */
export type NodeMessageStatement = { readonly node: string; readonly epoch: string; readonly seq: number; readonly contentHash: string; readonly base?: string };
export type SetStatement = { readonly set: string; readonly hash: string };

/** A pointer's is the one its manifest signs for the node (no base: the hash is checked on the reader's content). */
export function nodeMessageStatement(m: NodeMessage): NodeMessageStatement {
  return { node: m.node, epoch: m.version.epoch, seq: m.version.seq, contentHash: m.contentHash, ...(m.kind === 'delta' ? { base: m.base.contentHash } : {}) };
}

export function setStatement(content: SetContent): SetStatement {
  const ref = setContentRef(content);
  return { set: ref.id, hash: ref.hash };
}

/** The statement header (and signature headers, with a key) of a node or set store message. */
export function transportHeaders(signer: SigningKey | undefined, statement: NodeMessageStatement | SetStatement): ReadonlyMap<string, string> {
  const text = canonicalJson(statement);
  const out = new Map<string, string>([[STATEMENT_HEADER, text]]);
  if (signer) for (const [k, v] of signatureHeaders(signer, Buffer.from(text, 'utf8'))) out.set(k, v);
  return out;
}

export type TransportCheck<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'refuse'; readonly reason: RefusalReason; readonly detail: string };

/** Signature (when keys are trusted), then the statement, then the body's shape and its agreement with the statement. */
function checked<T>(received: ReceivedRuleSet, trust: Trust, parse: (body: Uint8Array) => { kind: 'ok'; value: T } | { kind: 'malformed'; detail: string }, expected: (value: T) => string): TransportCheck<T> {
  if (received.statement === undefined) return trust.mode === 'signed' ? refuse('unsigned', 'no statement header, and signing is required') : refuse('malformed', 'no statement header');
  const refusal = checkSignature(trust, received.signature, Buffer.from(received.statement, 'utf8'));
  if (refusal) return refuse(refusal.reason, refusal.detail);
  const parsed = parse(received.body);
  if (parsed.kind !== 'ok') return refuse('malformed', parsed.detail);
  if (received.statement !== expected(parsed.value))
    return refuse('malformed', 'the message disagrees with its statement');
  return { kind: 'ok', value: parsed.value };
}

/** A node message from `node`'s subject, checked as far as it can be before expansion (then the content hash). */
export function checkNodeMessage(received: ReceivedRuleSet, trust: Trust, node: string): TransportCheck<NodeMessage> {
  const result = checked(received, trust, parseNodeMessage, (m) => canonicalJson(nodeMessageStatement(m)));
  if (result.kind === 'ok' && result.value.node !== node)
    return refuse('wrong-node', `message names node ${JSON.stringify(result.value.node)}, this reader wants ${JSON.stringify(node)}`);
  return result;
}

/** A set store message fetched as `ref`: signed, well formed, and providing exactly `ref`. */
export function checkSetContent(received: ReceivedRuleSet, trust: Trust, ref: SetRef): TransportCheck<SetContent> {
  const result = checked(received, trust, parseSetContent, (c) => canonicalJson(setStatement(c)));
  if (result.kind !== 'ok') return result;
  const got = setContentRef(result.value);
  return got.id === ref.id && got.hash === ref.hash ? result : refuse('hash-mismatch', `store message provides ${got.id}.${got.hash.slice(0, 12)}, wanted ${ref.id}.${ref.hash.slice(0, 12)}`);
}

/** The set store statement of a manifest: `{set: MANIFEST_SET_ID, hash}`, the hash of its bytes. */
export function manifestStatement(manifest: EventManifest): SetStatement {
  return manifestStatementOf(encodeManifest(manifest).hash);
}

function manifestStatementOf(hash: string): SetStatement {
  const ref = manifestRef(hash);
  return { set: ref.id, hash: ref.hash };
}

/** A manifest fetched as `hash`: signed, well formed, and its bytes hashing to `hash`. */
export function checkManifest(received: ReceivedRuleSet, trust: Trust, hash: string): TransportCheck<EventManifest> {
  const actual = sha256(Buffer.from(received.body).toString('utf8'));
  if (actual !== hash) return refuse('hash-mismatch', `manifest bytes hash to ${actual.slice(0, 12)}, wanted ${hash.slice(0, 12)}`);
  return checked(received, trust, parseManifest, () => canonicalJson(manifestStatementOf(hash)));
}

function refuse(reason: RefusalReason, detail: string): { kind: 'refuse'; reason: RefusalReason; detail: string } {
  return { kind: 'refuse', reason, detail };
}
