import { headers as natsHeaders, type JetStreamClient, type JetStreamManager, type MsgHdrs, type StoredMsg } from 'nats';
import { names, type Names } from '../names.js';
import { addressSetHash, compareVersions, sameEpoch, type AddressSet, type RuleSet } from '../ruleset.js';
import { checkRuleSet } from '../signing/check-rule-set.js';
import type { SigningKey } from '../signing/keys.js';
import type { RefusalReason, Trust } from '../signing/trust.js';
import { FULL_EVERY, MAX_DELTAS, advanceHead, compactionDue, nextNodeMessage, reconstructNewest, type ChainHead } from '../transport/node-chain.js';
import { encodeManifest, maybeSetOnly, MANIFEST_MIN_NODES, MANIFEST_SET_ID, planPointers, pointerFor, pointerText, type EventManifest, type PointerCandidate } from '../transport/manifest.js';
import { deltaMessage, fullMessage, type NodeMessage } from '../transport/node-message.js';
import { resolveSetContent, setContentOf, setContentRef, type SetContent, type SetRef } from '../transport/set-content.js';
import { isNodeMessagePayload, isPointerPayload, parsePointer, parseSetContent } from '../transport/parse.js';
import { decideSetSweep, namedSetRefs, STORE_TRUST_MS, type StoredSetContent } from '../transport/set-sweep.js';
import { checkManifest, checkNodeMessage, checkSetContent, manifestStatement, nodeMessageStatement, setStatement, transportHeaders, type TransportCheck } from '../transport/statement.js';
import { isNotFound, isWrongLastSequence } from './errors.js';
import { ChunkError, publishLarge, readLarge } from './large.js';
import { receivedRuleSet } from './rule-set-message.js';

/**
 * The NATS side of the node transport (issue 15): node messages (FULL / DELTA) on `<prefix>.rules.<node>`,
 * set contents on `<prefix>.sets.<id>.<hash>`. A seam: the compiler and applier services still publish and
 * read whole rule sets; these are what they switch to. Every reader without a usable base goes through
 * `readNodeHead`; every writer through `NodeWriter`.
 */
export type NodeTransport = {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  readonly maxPayload: number;
  readonly trust: Trust;
  readonly signer?: SigningKey | undefined;
};

/** What a reader needs: the set store and rules stream to read, and whom to trust. */
export type NodeReader = Pick<NodeTransport, 'jsm' | 'prefix' | 'trust'>;

export class SetUnavailableError extends Error {
  override name = 'SetUnavailableError';
}

/**
 * Set contents a reader holds, by `<id>.<hash>`: filled from FULLs it expanded and from the store. Bounded:
 * past `max` contents the oldest go (a writer lives as long as the compiler, and every new content of a
 * set is a new entry), so a set that changes all day does not grow the heap.
 */
export class SetCache {
  private readonly sets = new Map<string, AddressSet>();
  constructor(private readonly max = 20_000) {}
  get = (ref: SetRef): AddressSet | undefined => this.sets.get(`${ref.id}.${ref.hash}`);
  add(set: AddressSet): void {
    const key = `${set.id}.${addressSetHash(set)}`;
    this.sets.delete(key);
    this.sets.set(key, set);
    for (const oldest of this.sets.keys()) {
      if (this.sets.size <= this.max) break;
      this.sets.delete(oldest);
    }
  }
}

/**
 * Set store chains: a writer stores a content as a member delta on the previous one; once SET_CHAIN_COMPACT
 * deltas lead back to a whole content, its background `compactSets` stores the newest content whole under
 * the same subject (one message per subject: the delta is replaced), so no event pays for a whole set. A
 * reader follows at most SET_CHAIN_READ_MAX deltas (more: compaction is behind; unreadable, retried).
 */
export const SET_CHAIN_COMPACT = 16;
export const SET_CHAIN_READ_MAX = 64;

/** Fetches one set content from the store (following member deltas to a base it holds or fetches), verified by hash and signature. */
export async function fetchSet(t: NodeReader, ref: SetRef, cache: SetCache, depth = 0, visiting: ReadonlySet<string> = new Set()): Promise<AddressSet> {
  const have = cache.get(ref);
  if (have) return have;
  if (depth > SET_CHAIN_READ_MAX) throw new SetUnavailableError(`set ${ref.id}: more than ${SET_CHAIN_READ_MAX} member deltas to a whole content (compaction behind)`);
  const key = `${ref.id}.${ref.hash}`;
  if (visiting.has(key)) throw new SetUnavailableError(`set ${ref.id}: member deltas in a loop at ${ref.hash.slice(0, 12)}`);
  const n = names(t.prefix);
  let m;
  try {
    m = await t.jsm.streams.getMessage(n.setsStream, { last_by_subj: n.setSubject(ref.id, ref.hash) });
  } catch (err) {
    if (isNotFound(err)) throw new SetUnavailableError(`set ${ref.id}.${ref.hash.slice(0, 12)} is not in the store`, { cause: err });
    throw err;
  }
  // a content past the server's max payload is stored in parts (publishLarge): the manifest names them
  let data: Uint8Array | undefined;
  try {
    data = await readLarge(t.jsm, n.setsStream, { subject: m.subject, data: m.data, headers: m.header });
  } catch (err) {
    if (err instanceof ChunkError) throw new SetUnavailableError(`set ${ref.id}: ${err.message}`, { cause: err });
    throw err;
  }
  if (data === undefined) throw new SetUnavailableError(`set ${ref.id}.${ref.hash.slice(0, 12)}: a part, not a content`);
  const check = checkSetContent(receivedRuleSet(m.header, data), t.trust, ref);
  if (check.kind !== 'ok') throw new SetUnavailableError(`set ${ref.id}: ${check.reason}: ${check.detail}`);
  const content = check.value;
  const base = content.kind === 'set-delta' ? await fetchSet(t, { id: content.id, hash: content.base }, cache, depth + 1, new Set([...visiting, key])) : undefined;
  const resolved = resolveSetContent(content, base);
  if (resolved.kind !== 'ok') throw new SetUnavailableError(resolved.detail);
  cache.add(resolved.set);
  return resolved.set;
}

/** Set fetches or stores in flight at once: each is one request, so a node naming a thousand sets is not a thousand round trips in a row. */
const IN_FLIGHT = 32;

/** Runs `fn` on every item, up to `width` at a time; the first failure fails the whole (the others still settle). */
async function inPool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Fetches `refs` (see fetchSet), up to IN_FLIGHT at a time. */
export async function fetchSets(t: NodeReader, refs: readonly SetRef[], cache: SetCache): Promise<void> {
  await inPool(refs, IN_FLIGHT, (ref) => fetchSet(t, ref, cache).then(() => undefined));
}

/**
 * Manifests a reader fetched, by hash: the check's outcome, shared while the fetch is in flight (readers of
 * many subjects ask for the same few manifests at once). Bounded, least recently used first out; a fetch
 * that failed is forgotten so the next one tries again.
 */
export class ManifestCache {
  private readonly manifests = new Map<string, Promise<TransportCheck<EventManifest>>>();
  constructor(private readonly max = 256) {}
  fetch(hash: string, fetch: () => Promise<TransportCheck<EventManifest>>): Promise<TransportCheck<EventManifest>> {
    let p = this.manifests.get(hash);
    if (p) this.manifests.delete(hash);
    else p = fetch().catch((err: unknown) => {
      if (this.manifests.get(hash) === p) this.manifests.delete(hash);
      throw err;
    });
    this.manifests.set(hash, p);
    for (const oldest of this.manifests.keys()) {
      if (this.manifests.size <= this.max) break;
      this.manifests.delete(oldest);
    }
    return p;
  }
}

/**
 * One manifest from the set store, checked (signature, bytes hashing to `hash`, shape). Not in the store, or
 * in parts that cannot be read: SetUnavailableError; present but refused: the refusal.
 */
export function fetchManifest(t: NodeReader, hash: string, cache: ManifestCache): Promise<TransportCheck<EventManifest>> {
  return cache.fetch(hash, async () => {
    const n = names(t.prefix);
    let m, data: Uint8Array | undefined;
    try {
      m = await t.jsm.streams.getMessage(n.setsStream, { last_by_subj: n.setSubject(MANIFEST_SET_ID, hash) });
      data = await readLarge(t.jsm, n.setsStream, { subject: m.subject, data: m.data, headers: m.header });
    } catch (err) {
      if (isNotFound(err) || err instanceof ChunkError) throw new SetUnavailableError(`manifest ${hash.slice(0, 12)}: ${isNotFound(err) ? 'not in the store' : (err as Error).message}`, { cause: err });
      throw err;
    }
    if (data === undefined) throw new SetUnavailableError(`manifest ${hash.slice(0, 12)}: a part, not a content`);
    return checkManifest(receivedRuleSet(m.header, data), t.trust, hash);
  });
}

/**
 * A message from `node`'s subject, checked: a FULL or DELTA by its signature and statement; a pointer by
 * its manifest's (fetched), then made whole with the manifest's entry for this node. A manifest that
 * cannot be fetched throws SetUnavailableError (the caller retries, or skips the message).
 */
export async function checkSubjectMessage(t: NodeReader, node: string, headers: MsgHdrs | undefined, payload: Uint8Array, manifests: ManifestCache): Promise<TransportCheck<NodeMessage>> {
  if (!isPointerPayload(payload)) return checkNodeMessage(receivedRuleSet(headers, payload), t.trust, node);
  const pointer = parsePointer(payload);
  if (pointer.kind !== 'ok') return { kind: 'refuse', reason: 'malformed', detail: pointer.detail };
  const manifest = await fetchManifest(t, pointer.value.manifest, manifests);
  if (manifest.kind !== 'ok') return { kind: 'refuse', reason: manifest.reason, detail: `pointer's manifest: ${manifest.detail}` };
  const message = pointerFor(manifest.value, pointer.value.manifest, node);
  return message ? { kind: 'ok', value: message } : { kind: 'refuse', reason: 'wrong-node', detail: `pointer's manifest ${pointer.value.manifest.slice(0, 12)} has no entry for node ${JSON.stringify(node)}` };
}

/**
 * The stream's message get with `next_by_subj` (the server takes it; the client's type lists only `seq`
 * and `last_by_subj`). The API the services' roles are granted already (`STREAM.MSG.GET`), not direct get.
 */
type NextBySubject = (stream: string, query: { next_by_subj: string; seq: number }) => Promise<{ seq: number; subject: string; data: Uint8Array; header: MsgHdrs }>;

/** One retained message of a node subject; `unreadable`: why its payload could not be had (then empty). */
export type RetainedMessage = { readonly seq: number; readonly headers: MsgHdrs | undefined; readonly payload: Uint8Array; readonly unreadable?: string };

/**
 * A node subject's retained messages, oldest first: subject sequence, headers and (reassembled) payload.
 * `skipUnreadable`: a large message whose parts are gone is left out (no reader can use it) instead of failing
 * the read; `reportUnreadable`: it is kept with `unreadable` saying why (a reader refuses it, and a writer
 * still counts its sequence), so a forged chunk manifest cannot stop every reader of the subject.
 */
export async function readNodeSubject(
  t: NodeReader,
  node: string,
  opts: { readonly skipUnreadable?: boolean; readonly reportUnreadable?: boolean; readonly fromSeq?: number } = {},
): Promise<RetainedMessage[]> {
  const n = names(t.prefix);
  const subject = n.rulesSubject(node);
  const out: RetainedMessage[] = [];
  for (let seq = Math.max(1, opts.fromSeq ?? 1); ; ) {
    let m;
    try {
      m = await (t.jsm.streams.getMessage.bind(t.jsm.streams) as unknown as NextBySubject)(n.rulesStream, { next_by_subj: subject, seq });
    } catch (err) {
      if (isNotFound(err)) return out;
      throw err;
    }
    let payload;
    try {
      payload = await readLarge(t.jsm, n.rulesStream, { subject: m.subject, data: m.data, headers: m.header });
    } catch (err) {
      if (!(err instanceof ChunkError) || !(opts.skipUnreadable || opts.reportUnreadable)) throw err;
      if (opts.reportUnreadable) out.push({ seq: m.seq, headers: m.header, payload: new Uint8Array(0), unreadable: err.message });
    }
    if (payload !== undefined) out.push({ seq: m.seq, headers: m.header, payload });
    seq = m.seq + 1;
  }
}

/** The newest content of a node's subject, the subject's last sequence, and the messages refused on the way. */
export type NodeHead = {
  readonly head: ChainHead | undefined;
  readonly subjectSeq: number;
  /** Messages that passed the checks but did not build on the chain (another base): written over by the next writer. */
  readonly skipped: number;
  readonly refused: readonly { readonly seq: number; readonly reason: RefusalReason | 'wrong-base'; readonly detail: string }[];
  /** The stream sequence of the FULL the head was built from. */
  readonly fullSeq?: number;
};

/** On a DELTA: the stream sequence of the FULL its chain starts at, so a reader need not read older messages. */
export const FULL_SEQ_HEADER = 'Knp-Full-Seq';

/**
 * Rebuilds a node's newest version from its subject: every retained message checked (signature, statement,
 * shape; a whole rule set of schema 1 is read as a FULL), then `reconstructNewest` from the newest FULL,
 * fetching the set contents it names. The shared reader for a new applier, `knp status`, live explain,
 * history and a starting compiler. Versions are not judged here (epoch, future seq, stale): the caller does.
 */
export async function readNodeHead(t: NodeReader, node: string, cache = new SetCache(), manifests = new ManifestCache()): Promise<NodeHead> {
  // a DELTA (or pointer) names the stream sequence of the FULL its chain starts at (FULL_SEQ_HEADER, a hint, not
  // signed): reading from there skips the older messages; a hint that leads nowhere means reading it all
  const from = await chainStartHint(t, node);
  const hinted = from > 1 ? await readChain(t, node, cache, manifests, from) : undefined;
  return hinted?.head !== undefined ? hinted : readChain(t, node, cache, manifests, 1);
}

/** The last message on a node's subject, if any. */
async function lastOnSubject(t: NodeReader, node: string): Promise<StoredMsg | undefined> {
  const n = names(t.prefix);
  try {
    return await t.jsm.streams.getMessage(n.rulesStream, { last_by_subj: n.rulesSubject(node) });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Where the newest chain of a node's subject starts, by its last message: the hint of a DELTA, else 1. */
async function chainStartHint(t: NodeReader, node: string): Promise<number> {
  const m = await lastOnSubject(t, node);
  const hint = Number(m?.header?.get(FULL_SEQ_HEADER) || NaN);
  return m !== undefined && Number.isSafeInteger(hint) && hint >= 1 && hint <= m.seq ? hint : 1;
}

async function readChain(t: NodeReader, node: string, cache: SetCache, manifests: ManifestCache, fromSeq: number): Promise<NodeHead> {
  const retained = await readNodeSubject(t, node, { fromSeq, reportUnreadable: true });
  const refused: { seq: number; reason: RefusalReason | 'wrong-base'; detail: string }[] = [];
  const messages: NodeMessage[] = [];
  const seqs: number[] = [];
  // checked at once: each pointer fetches its manifest (shared by the many pointers naming the same one)
  const checks = await Promise.all(retained.map((m) => checkRetained(t, node, m, manifests)));
  for (const [i, m] of retained.entries()) {
    const check = checks[i]!;
    if (check.kind === 'refuse') refused.push({ seq: m.seq, reason: check.reason, detail: check.detail });
    else {
      for (const set of check.legacy?.sets ?? []) cache.add(set);
      messages.push(check.message);
      seqs.push(m.seq);
    }
  }
  const subjectSeq = retained.at(-1)?.seq ?? 0;
  // each round fetches what the first message still short of sets names: at most one round per message
  for (let round = 0; round <= messages.length; round++) {
    const out = reconstructNewest(messages, cache.get);
    if (out.kind === 'empty') return { head: undefined, subjectSeq, refused, skipped: 0 };
    if (out.kind === 'ok') return { head: out.head, subjectSeq, refused, skipped: out.skipped, fullSeq: seqs[out.fullAt]! };
    await fetchSets(t, out.refs, cache);
  }
  throw new SetUnavailableError(`node ${node}: set contents still missing after fetching them`);
}

const legacyRuleSet = (payload: Uint8Array): RuleSet => JSON.parse(Buffer.from(payload).toString('utf8')) as RuleSet;

type RetainedCheck =
  | { readonly kind: 'ok'; readonly message: NodeMessage; /** schema 1: the whole rule set, its sets inline */ readonly legacy?: RuleSet }
  | { readonly kind: 'refuse'; readonly reason: RefusalReason; readonly detail: string };

/**
 * One retained message of `node`'s subject, checked (signature, statement, shape; a pointer with its
 * manifest, refused when that cannot be had); a whole rule set of schema 1 is read as a FULL.
 */
async function checkRetained(t: NodeReader, node: string, m: RetainedMessage, manifests: ManifestCache): Promise<RetainedCheck> {
  if (m.unreadable !== undefined) return { kind: 'refuse', reason: 'malformed', detail: `unreadable: ${m.unreadable}` };
  if (!isNodeMessagePayload(m.payload)) {
    const legacy = checkRuleSet(receivedRuleSet(m.headers, m.payload), t.trust, node, { epoch: '', lastSeq: Number.MAX_SAFE_INTEGER }, undefined);
    // its epoch is judged by the caller like any version
    if (legacy.kind === 'refuse' && legacy.reason !== 'foreign-epoch') return { kind: 'refuse', reason: legacy.reason, detail: legacy.detail };
    const rs = legacyRuleSet(m.payload);
    return { kind: 'ok', message: fullMessage(rs).message, legacy: rs };
  }
  let check;
  try {
    check = await checkSubjectMessage(t, node, m.headers, m.payload, manifests);
  } catch (err) {
    if (!(err instanceof SetUnavailableError)) throw err;
    return { kind: 'refuse', reason: 'malformed', detail: err.message };
  }
  return check.kind === 'ok' ? { kind: 'ok', message: check.value } : check;
}

/**
 * `ruleSet`: for `publish`, the rule set stored; for `adopt`, the one on the subject (its version kept);
 * `duplicate`: another writer stored this very version (same message id) first.
 */
export type WriteOutcome = {
  readonly decision: 'publish' | 'adopt' | 'behind';
  readonly ruleSet?: RuleSet | undefined;
  readonly kind?: 'full' | 'delta' | 'pointer';
  readonly bytes?: number;
  readonly subjectSeq: number;
  readonly duplicate?: boolean;
};

export type NodeWriterOptions = {
  /**
   * Whether a version read back from the subject is one to defer to and build on. The transport checks
   * signature, statement and hash; the caller judges the version against the events stream (a foreign
   * epoch, a seq the stream has not reached): a head it refuses is published over with a FULL, never
   * deferred to, so a forged newest message cannot freeze a node.
   */
  readonly usable?: (ruleSet: RuleSet) => Promise<boolean> | boolean;
  /** How long a content this writer stored is named (or used as a member-delta base) without storing it again: below the sweep's grace. */
  readonly storeTrustMs?: number;
  /** The writer's clock in ms (tests move it). */
  readonly now?: () => number;
  /** Storing a publish's set contents or manifests failed: its nodes went the plain way (FULL or DELTA). */
  readonly onPointerError?: (err: unknown) => void;
};

/** A pointer planned for a node: its manifest (stored, under `hash`) and the head content it applies on. */
type PlannedPointer = { readonly manifest: EventManifest; readonly hash: string; readonly base: string };

/** Node publishes in flight at once in `publishMany` (each its own subject; one node's never interleave). */
const PUBLISHES_IN_FLIGHT = 8;

/** What a writer holds of a node's subject; `fullSeq`: the stream sequence of the FULL the head's chain starts at. */
type Held = { head: ChainHead | undefined; subjectSeq: number; overwrite?: boolean; fullSeq?: number | undefined };

/**
 * One writer (compiler replica) of node messages. Per node it holds the subject's head as last read or
 * written; a publish names the subject's last sequence (`expect.lastSubjectSequence`), so two writers
 * conflict and the loser reads the subject again and decides again: the same content of the same epoch there
 * is adopted (as `decidePublish`), a version at or past ours with other content means behind, else a DELTA on what is actually there (or a
 * FULL). Set contents are stored before the message that names them.
 */
export class NodeWriter {
  /** `overwrite`: the subject's last message is not the head (refused, or a version not usable): publish over it. */
  private readonly heads = new Map<string, Held>();
  /** When this writer stored each content, by `<id>.<hash>` (its own clock, taken before the publish). */
  private readonly stored = new Map<string, number>();
  /** Per set id: the newest content this writer stored, how many member deltas lead from it to a whole one, and when. */
  private readonly latest = new Map<string, { readonly set: AddressSet; readonly depth: number; readonly storedAt: number }>();
  /** Contents being stored now, by `<id>.<hash>`: concurrent publishes naming one content store it once. */
  private readonly storing = new Map<string, Promise<void>>();
  private readonly manifests = new ManifestCache();
  /** DELTAs computed while planning the current `publishMany`, by node: `publish` takes them instead of diffing again. */
  private readonly plannedDeltas = new Map<string, ReturnType<typeof deltaMessage>>();
  private readonly n: Names;
  private readonly trustMs: number;
  private readonly now: () => number;
  constructor(private readonly t: NodeTransport, private readonly cache = new SetCache(), private readonly opts: NodeWriterOptions = {}) {
    this.n = names(t.prefix);
    this.trustMs = opts.storeTrustMs ?? STORE_TRUST_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Whether a content stored at `storedAt` is surely still in the store: `sweepSets` removes only contents
   * older than its grace that nothing retained names, and the trust period is half the grace.
   */
  private trusted(storedAt: number | undefined, now: number): boolean {
    return storedAt !== undefined && now - storedAt < this.trustMs;
  }

  /** Drops what this writer holds of a node's subject (it was purged, or moved under it): the next publish reads it again. */
  forget(node: string): void {
    this.heads.delete(node);
  }

  /** `headers`: telemetry added to the message (not signed), e.g. the events' receive time. */
  async publish(ruleSet: RuleSet, headers?: ReadonlyMap<string, string>): Promise<WriteOutcome> {
    // a DELTA worked out while planning pointers (the node got none) is not computed twice
    const known = this.plannedDeltas.get(ruleSet.node);
    this.plannedDeltas.delete(ruleSet.node);
    // a duplicate ack whose original is gone from the subject (purged by hand) stored nothing: publish without the id
    let withoutId = false;
    for (let attempt = 0; ; attempt++) {
      const at = this.heads.get(ruleSet.node) ?? (await this.read(ruleSet.node));
      const current = at.head?.ruleSet;
      if (current && current.contentHash === ruleSet.contentHash && sameEpoch(current.version.epoch, ruleSet.version.epoch)) {
        // the same content is the head; a refused message over it is covered by the head again, version kept
        if (!at.overwrite) return { decision: 'adopt', ruleSet: current, subjectSeq: at.subjectSeq };
        if (await this.publishFull(ruleSet.node, at, 'restate')) return { decision: 'adopt', ruleSet: current, subjectSeq: this.heads.get(ruleSet.node)?.subjectSeq ?? at.subjectSeq };
        if (attempt >= 20) throw new Error(`node ${ruleSet.node}: the subject kept moving while restating its head`);
        continue; // another publish came first: read again, decide again
      }
      if (current && compareVersions(current.version, ruleSet.version) >= 0) return { decision: 'behind', ruleSet: current, subjectSeq: at.subjectSeq };
      const { message, sets, text } = nextNodeMessage(at.head, ruleSet, MAX_DELTAS, known);
      await this.storeSets(sets);
      const data = Buffer.from(text, 'utf8');
      // fresh headers each attempt: the client writes the msg id into the headers object it is given
      const h = natsHeaders();
      for (const [k, v] of transportHeaders(this.t.signer, nodeMessageStatement(message))) h.set(k, v);
      for (const [k, v] of headers ?? []) h.set(k, v);
      if (message.kind === 'delta' && at.fullSeq !== undefined) h.set(FULL_SEQ_HEADER, String(at.fullSeq));
      try {
        const ack = await publishLarge(this.t.js, this.n.rulesSubject(ruleSet.node), data, {
          maxPayload: this.t.maxPayload,
          ...(withoutId ? {} : { msgID: `${ruleSet.node}:${ruleSet.version.epoch}:${ruleSet.version.seq}:${at.subjectSeq}` }),
          headers: h,
          expect: { lastSubjectSequence: at.subjectSeq },
        });
        if (ack.duplicate && !withoutId && (await this.read(ruleSet.node)).subjectSeq !== ack.seq) {
          withoutId = true;
          continue;
        }
        // a duplicate ack: another writer stored this very version (same id) over the same subject state first
        if (ack.duplicate) return { decision: 'publish', ruleSet, subjectSeq: ack.seq, duplicate: true };
        this.heads.set(ruleSet.node, { head: advanceHead(at.head, message, ruleSet), subjectSeq: ack.seq, fullSeq: message.kind === 'full' ? ack.seq : at.fullSeq });
        return { decision: 'publish', ruleSet, kind: message.kind, bytes: data.length, subjectSeq: ack.seq };
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt >= 20) throw err;
        this.heads.delete(ruleSet.node);
      }
    }
  }

  /**
   * Publishes the rule sets of one evaluation (one per node). The nodes whose only change is set contents,
   * when at least MANIFEST_MIN_NODES of them, get an unsigned pointer to a signed manifest naming the changed
   * sets once (manifest.ts), so an event that changes a set used on every node costs ~200 bytes a node, not a
   * signed DELTA each. Every other node, and any pointer that meets a conflict, goes through `publish`.
   * Results in the order given; one node's failure does not stop the others.
   */
  async publishMany(ruleSets: readonly RuleSet[], headers?: ReadonlyMap<string, string>, plan: { readonly perManifest?: number; readonly min?: number } = {}): Promise<PromiseSettledResult<WriteOutcome>[]> {
    let pointers = new Map<string, PlannedPointer>();
    try {
      pointers = await this.planAndStore(ruleSets, plan);
    } catch (err) {
      // the plain path decides and reports each node on its own
      this.opts.onPointerError?.(err);
    }
    const out: PromiseSettledResult<WriteOutcome>[] = new Array(ruleSets.length);
    await inPool([...ruleSets.keys()], PUBLISHES_IN_FLIGHT, async (i) => {
      const ruleSet = ruleSets[i]!;
      try {
        const planned = pointers.get(ruleSet.node);
        const viaPointer = planned && (await this.publishPointer(ruleSet, planned, headers));
        out[i] = { status: 'fulfilled', value: viaPointer ?? (await this.publish(ruleSet, headers)) };
      } catch (err) {
        out[i] = { status: 'rejected', reason: err };
      }
    });
    this.plannedDeltas.clear();
    return out;
  }

  /** Which nodes get a pointer (planPointers on the heads held or read), with the sets and manifests stored. */
  private async planAndStore(ruleSets: readonly RuleSet[], plan: { readonly perManifest?: number; readonly min?: number }): Promise<Map<string, PlannedPointer>> {
    const out = new Map<string, PlannedPointer>();
    if (ruleSets.length < (plan.min ?? MANIFEST_MIN_NODES)) return out;
    const deltas = this.plannedDeltas;
    const candidates: PointerCandidate[] = [];
    await inPool(ruleSets, PUBLISHES_IN_FLIGHT, async (next) => {
      const at = this.heads.get(next.node) ?? (await this.read(next.node));
      const base = at.head?.ruleSet;
      if (!base || at.overwrite || at.head!.sinceFull >= MAX_DELTAS || base.contentHash === next.contentHash) return;
      if (!sameEpoch(base.version.epoch, next.version.epoch) || compareVersions(base.version, next.version) >= 0 || !maybeSetOnly(base, next)) return;
      const delta = deltaMessage(base, next);
      deltas.set(next.node, delta);
      candidates.push({ base, next, delta: delta.message });
    });
    const planned = planPointers(candidates, plan);
    if (planned.manifests.length === 0) return out;
    const bases = new Map(candidates.map((c) => [c.next.node, c.base.contentHash]));
    await this.storeSets(planned.sets);
    for (const { manifest, nodes } of planned.manifests) {
      const hash = await this.storeManifest(manifest);
      for (const node of nodes) out.set(node, { manifest, hash, base: bases.get(node)! });
    }
    return out;
  }

  /** The pointer for `ruleSet` over the head it was planned on; undefined (the plain path decides) when the subject moved meanwhile. */
  private async publishPointer(ruleSet: RuleSet, planned: PlannedPointer, headers?: ReadonlyMap<string, string>): Promise<WriteOutcome | undefined> {
    const node = ruleSet.node;
    const at = this.heads.get(node);
    const message = pointerFor(planned.manifest, planned.hash, node);
    if (!at?.head || at.overwrite || at.head.ruleSet.contentHash !== planned.base || !message) return undefined;
    const h = natsHeaders();
    for (const [k, v] of headers ?? []) h.set(k, v);
    if (at.fullSeq !== undefined) h.set(FULL_SEQ_HEADER, String(at.fullSeq));
    const data = Buffer.from(pointerText(planned.hash), 'utf8');
    try {
      const ack = await this.t.js.publish(this.n.rulesSubject(node), data, {
        msgID: `${node}:${ruleSet.version.epoch}:${ruleSet.version.seq}:${at.subjectSeq}`,
        headers: h,
        expect: { lastSubjectSequence: at.subjectSeq },
      });
      if (ack.duplicate) {
        // another writer stored this version over the same subject state first: the plain path reads and adopts it
        this.heads.delete(node);
        return undefined;
      }
      this.heads.set(node, { head: advanceHead(at.head, message, ruleSet), subjectSeq: ack.seq, fullSeq: at.fullSeq });
      return { decision: 'publish', ruleSet, kind: 'pointer', bytes: data.length, subjectSeq: ack.seq };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      this.heads.delete(node);
      return undefined;
    }
  }

  /** Stores a manifest (signed, under its hash) before any pointer names it; returns its hash. */
  private async storeManifest(manifest: EventManifest): Promise<string> {
    const { text, hash } = encodeManifest(manifest);
    const h = natsHeaders();
    for (const [k, v] of transportHeaders(this.t.signer, manifestStatement(manifest))) h.set(k, v);
    const subject = this.n.setSubject(MANIFEST_SET_ID, hash);
    await publishLarge(this.t.js, subject, Buffer.from(text, 'utf8'), {
      maxPayload: this.t.maxPayload,
      msgID: `${subject}@${Math.floor(this.now() / Math.max(1, this.trustMs / 2))}`,
      headers: h,
    });
    return hash;
  }

  /**
   * Background compaction: once FULL_EVERY deltas follow the newest FULL, a FULL of the head's own content and
   * version (a reader holding it acks it as stale, no kernel write), so later readers start closer to the head
   * and no event pays for a FULL. Returns whether one was published; a conflicting publish skips it.
   */
  async compact(node: string, fullEvery = FULL_EVERY): Promise<boolean> {
    const at = this.heads.get(node) ?? (await this.read(node));
    if (at.head === undefined || at.overwrite || !compactionDue(at.head, fullEvery)) return false;
    return this.publishFull(node, at, 'full');
  }

  /** Nodes whose chain is due for compaction, as this writer holds them. */
  dueForCompaction(fullEvery = FULL_EVERY): string[] {
    return [...this.heads].flatMap(([node, at]) => (at.head !== undefined && !at.overwrite && compactionDue(at.head, fullEvery) ? [node] : []));
  }

  /** A FULL of the head's own content and version over the subject's last message; false when another publish came first. */
  private async publishFull(node: string, at: Held, idSuffix: string): Promise<boolean> {
    const ruleSet = at.head!.ruleSet;
    const { message, sets } = fullMessage(ruleSet);
    await this.storeSets(sets);
    const h = natsHeaders();
    for (const [k, v] of transportHeaders(this.t.signer, nodeMessageStatement(message))) h.set(k, v);
    try {
      const ack = await publishLarge(this.t.js, this.n.rulesSubject(node), Buffer.from(JSON.stringify(message), 'utf8'), {
        maxPayload: this.t.maxPayload,
        msgID: `${node}:${ruleSet.version.epoch}:${ruleSet.version.seq}:${at.subjectSeq}:${idSuffix}`,
        headers: h,
        expect: { lastSubjectSequence: at.subjectSeq },
      });
      this.heads.set(node, { head: advanceHead(at.head, message, ruleSet), subjectSeq: ack.seq, fullSeq: ack.seq });
      return true;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      this.heads.delete(node);
      return false;
    }
  }

  private async read(node: string): Promise<Held> {
    let read: NodeHead;
    try {
      read = await readNodeHead(this.t, node, this.cache, this.manifests);
    } catch (err) {
      if (!(err instanceof SetUnavailableError)) throw err;
      // the head names set contents no reader can rebuild (a broken or swept delta chain): publish a FULL
      // over it, and store every content it names whole, forgetting what this writer believed it stored
      this.stored.clear();
      this.latest.clear();
      const at: Held = { head: undefined, subjectSeq: (await lastOnSubject(this.t, node))?.seq ?? 0, overwrite: true };
      this.heads.set(node, at);
      return at;
    }
    const usable = read.head !== undefined && (this.opts.usable === undefined || (await this.opts.usable(read.head.ruleSet)));
    const lastRefused = read.refused.at(-1)?.seq === read.subjectSeq && read.subjectSeq > 0;
    const at: Held = { head: usable ? read.head : undefined, subjectSeq: read.subjectSeq, overwrite: lastRefused, fullSeq: usable ? read.fullSeq : undefined };
    this.heads.set(node, at);
    return at;
  }

  /**
   * Each distinct content once per trust period, as a member delta on the newest content of the set this
   * writer stored within it (an older one may have been swept: the content is stored whole). Storing again
   * replaces the message on the subject and so refreshes its time in the store.
   */
  private async storeSets(sets: readonly AddressSet[]): Promise<void> {
    await inPool(sets, IN_FLIGHT, async (set) => {
      const hash = addressSetHash(set);
      const key = `${set.id}.${hash}`;
      const now = this.now();
      if (this.trusted(this.stored.get(key), now)) return;
      // another node's publish is storing this very content now: its store is ours
      const storing = this.storing.get(key);
      if (storing) return storing;
      const prev = this.latest.get(set.id);
      const base = prev && this.trusted(prev.storedAt, now) && prev.depth < SET_CHAIN_READ_MAX - 1 ? prev : undefined;
      const first = setContentOf(set, base?.set);
      const store = (async () => {
        // a member delta goes only into an empty subject: a content already in the store (stored again to
        // refresh it, or by another replica) may be the base of the very content this one would build on,
        // and a delta over it would close a loop no reader can resolve. Stored whole instead.
        let content = first;
        if (first.kind === 'set') await this.storeSetContent(first, '', now);
        else if (!(await this.storeSetContent(first, '', now, true))) await this.storeSetContent((content = setContentOf(set, undefined)), ':whole', now);
        this.stored.set(key, now);
        this.latest.set(set.id, { set, depth: content.kind === 'set' ? 0 : (base?.depth ?? 0) + 1, storedAt: now });
        this.cache.add(set);
      })();
      this.storing.set(key, store);
      try {
        await store;
      } finally {
        this.storing.delete(key);
      }
    });
  }

  /** Background: each set whose newest content is SET_CHAIN_COMPACT or more deltas from a whole one is stored whole (same subject). */
  async compactSets(chain = SET_CHAIN_COMPACT): Promise<number> {
    let compacted = 0;
    for (const [id, { set, depth }] of this.latest) {
      if (depth < chain) continue;
      const now = this.now();
      await this.storeSetContent(setContentOf(set, undefined), ':whole', now);
      this.stored.set(`${id}.${addressSetHash(set)}`, now);
      this.latest.set(id, { set, depth: 0, storedAt: now });
      compacted += 1;
    }
    return compacted;
  }

  /**
   * Stores one content; `intoEmpty`: only if its subject holds nothing (false when it does). The msg id is
   * the subject plus a time bucket of half the trust period: writers storing the same content at about the
   * same time store it once, and a store after the trust period (which must refresh the time) is never
   * taken for a duplicate of the one before, whatever the stream's duplicate window.
   */
  private async storeSetContent(content: SetContent, idSuffix: string, now: number, intoEmpty = false): Promise<boolean> {
    const ref = setContentRef(content);
    const h = natsHeaders();
    for (const [k, v] of transportHeaders(this.t.signer, setStatement(content))) h.set(k, v);
    const subject = this.n.setSubject(ref.id, ref.hash);
    const bucket = Math.floor(now / Math.max(1, this.trustMs / 2));
    try {
      await publishLarge(this.t.js, subject, Buffer.from(JSON.stringify(content), 'utf8'), {
        maxPayload: this.t.maxPayload,
        msgID: `${subject}${idSuffix}${intoEmpty ? ':new' : ''}@${bucket}`,
        headers: h,
        ...(intoEmpty ? { expect: { lastSubjectSequence: 0 } } : {}),
      });
      return true;
    } catch (err) {
      if (intoEmpty && isWrongLastSequence(err)) return false;
      throw err;
    }
  }
}

/**
 * Removes the set contents no retained node message names any more (issue 15; the rule is `decideSetSweep`'s):
 * reads every node subject's retained messages, then the store's contents (time and delta base), and purges
 * each content decided. Safe beside writers and another sweep:
 * - `now` is taken before the node subjects are read: a content a writer named without storing it again was
 *   stored within its trust period, so it is younger than the grace measured from then, or it is named by a
 *   message already retained when the subjects were read;
 * - each purge removes only the message judged (and older ones; `seq` bound): a content stored again since
 *   (a writer refreshing it) stays;
 * - a content another sweep removed meanwhile is skipped; purging it twice removes nothing.
 * A message no reader can use (refused, or a large one missing parts) names nothing; any other failure to
 * read ends the sweep before anything is purged.
 */
export async function sweepSets(t: NodeTransport, opts: { readonly graceMs: number; readonly now?: number }): Promise<{ kept: number; purged: number }> {
  const now = opts.now ?? Date.now();
  const n = names(t.prefix);
  const named: SetRef[] = [];
  // every manifest a retained pointer names, read once for the whole sweep
  const manifests = new ManifestCache(Number.POSITIVE_INFINITY);
  const rules = await t.jsm.streams.info(n.rulesStream, { subjects_filter: n.rulesSubjects });
  const nodes = Object.keys(rules.state.subjects ?? {}).flatMap((s) => n.nodeOfRulesSubject(s) ?? []);
  for (const node of nodes) {
    for (const m of await readNodeSubject(t, node, { skipUnreadable: true })) {
      const check = await checkRetained(t, node, m, manifests);
      // a whole rule set of schema 1 carries its sets: it names nothing in the store
      if (check.kind === 'ok' && check.legacy === undefined) named.push(...namedSetRefs(check.message));
    }
  }
  const held = await storedSetContents(t, now);
  const decision = decideSetSweep(named, [...held.values()].map((c) => c.content), opts.graceMs);
  let purged = 0;
  for (const ref of decision.purge) {
    const c = held.get(n.setSubject(ref.id, ref.hash))!;
    let removed = 0;
    for (const subject of c.subjects) removed += (await t.jsm.streams.purge(n.setsStream, { filter: subject, seq: c.seq + 1 })).purged;
    if (removed > 0) purged += 1;
  }
  return { kept: decision.keep.length, purged };
}

/**
 * The store's contents by subject: age, delta base, the subjects holding it (its own, and its chunk parts
 * `<subject>~<i>` when large) and the sequence judged. Parts whose manifest is gone (a writer stopped between
 * them) are a content of their own with no base, aged by their newest part.
 */
async function storedSetContents(t: NodeTransport, now: number): Promise<Map<string, { content: StoredSetContent; subjects: string[]; seq: number }>> {
  const n = names(t.prefix);
  const info = await t.jsm.streams.info(n.setsStream, { subjects_filter: n.setsSubjects });
  const groups = new Map<string, string[]>();
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const logical = subject.replace(/~\d+$/, '');
    groups.set(logical, [...(groups.get(logical) ?? []), subject]);
  }
  const out = new Map<string, { content: StoredSetContent; subjects: string[]; seq: number }>();
  for (const [logical, subjects] of groups) {
    const ref = n.setOfSubject(logical);
    if (ref === undefined) continue; // not a content subject: not ours to judge
    const whole = subjects.includes(logical);
    let seq = 0, time = 0, base: string | undefined;
    for (const subject of whole ? [logical] : subjects) {
      let m;
      try {
        m = await t.jsm.streams.getMessage(n.setsStream, { last_by_subj: subject });
      } catch (err) {
        if (isNotFound(err)) continue; // another sweep removed it meanwhile
        throw err;
      }
      seq = Math.max(seq, m.seq);
      time = Math.max(time, m.time.getTime());
      if (whole) base = await deltaBase(t, m);
    }
    if (seq > 0) out.set(logical, { content: { ref, ageMs: now - time, base }, subjects, seq });
  }
  return out;
}

/** The base hash a stored content is a member delta on; undefined for a whole content or one that cannot be read (nothing to keep for it). */
async function deltaBase(t: NodeTransport, m: { subject: string; data: Uint8Array; header: MsgHdrs }): Promise<string | undefined> {
  let body;
  try {
    body = await readLarge(t.jsm, names(t.prefix).setsStream, { subject: m.subject, data: m.data, headers: m.header });
  } catch (err) {
    if (err instanceof ChunkError) return undefined;
    throw err;
  }
  const parsed = body === undefined ? undefined : parseSetContent(body);
  return parsed?.kind === 'ok' && parsed.value.kind === 'set-delta' ? parsed.value.base : undefined;
}
