import { isNodeMessagePayload, isPointerPayload, names, parseNodeMessage, parseRuleSet, type Logger, type RuleSet, type RuleSetVersion, type SigningSettings } from '@knp/shared';
import { ManifestCache, checkSubjectMessage, readLarge } from '@knp/shared/nats';
import type { JetStreamManager, MsgHdrs, NatsConnection } from 'nats';
import { compileNode } from '../compile-node.js';
import { foldStream } from './stream-fold.js';
import type { InputReport } from './admission.js';

export type Replayed = {
  readonly ruleSet: RuleSet; readonly foldedSeq: number; readonly snapshotSeq: number; readonly versionFrom: 'published' | 'replay';
  /** What the fold refused or rejected. */
  readonly input: InputReport;
};

/**
 * Rebuilds `node`'s rule set as of `toSeq` (default: the stream's last sequence). The content comes from
 * the events alone. The version is the one the compiler published for it (the newest version <= S on the
 * node's rules subject, when it has this very content); otherwise (epoch, last folded sequence), which is
 * what a compiler evaluating at S would publish.
 */
export async function replayNode(nc: NatsConnection, prefix: string, node: string, opts: { toSeq?: number; fromStart?: boolean; signing?: SigningSettings; log: Logger }): Promise<Replayed> {
  const n = names(prefix);
  const jsm = await nc.jetstreamManager();
  const { epoch, state, snapshotSeq, lastSeq, input } = await foldStream(nc, prefix, opts);
  const target = opts.toSeq ?? lastSeq;
  const rebuilt = compileNode(state, node, { epoch, seq: state.seq }).ruleSet;
  const published = await publishedAt(nc, jsm, prefix, node, epoch, target);
  // the content is the events' alone: only the version is taken from what was published for this content
  if (published && published.contentHash === rebuilt.contentHash) return { ruleSet: { ...rebuilt, version: published.version }, foldedSeq: state.seq, snapshotSeq, versionFrom: 'published', input };
  return { ruleSet: rebuilt, foldedSeq: state.seq, snapshotSeq, versionFrom: 'replay', input };
}

/**
 * The newest version and content hash on `subject` of this epoch at or before `seq` (the rules stream keeps
 * the last NODE_SUBJECT_MESSAGES per node): a node message names both, a whole rule set (schema 1) carries them.
 */
async function publishedAt(nc: NatsConnection, jsm: JetStreamManager, prefix: string, node: string, epoch: string, seq: number): Promise<{ version: RuleSetVersion; contentHash: string } | undefined> {
  const n = names(prefix), stream = n.rulesStream, subject = n.rulesSubject(node);
  const manifests = new ManifestCache();
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => undefined);
  if (!info || !info.state.subjects?.[subject]) return undefined;
  const consumer = await nc.jetstream().consumers.get(stream, { filterSubjects: subject });
  const messages = await consumer.consume({ max_messages: 16 });
  let best: { version: RuleSetVersion; contentHash: string } | undefined;
  try {
    for await (const m of messages) {
      try {
        const data = await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.headers });
        const rs = data && (await published(data, m.headers, { jsm, prefix, node, manifests }));
        if (rs && rs.version.epoch === epoch && rs.version.seq <= seq && (!best || rs.version.seq > best.version.seq)) best = rs;
      } catch {
        // an evicted or unreadable version cannot be the answer; the others still can
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return best;
}

/** Version and content hash a rules stream message names; a pointer's come from its manifest (only the version is used, for this very content). */
async function published(data: Uint8Array, headers: MsgHdrs | undefined, r: { jsm: JetStreamManager; prefix: string; node: string; manifests: ManifestCache }): Promise<{ version: RuleSetVersion; contentHash: string } | undefined> {
  if (!isNodeMessagePayload(data)) return parseRuleSet(Buffer.from(data).toString('utf8'));
  if (isPointerPayload(data)) {
    const m = await checkSubjectMessage({ jsm: r.jsm, prefix: r.prefix, trust: { mode: 'unsigned' } }, r.node, headers, data, r.manifests);
    return m.kind === 'ok' ? m.value : undefined;
  }
  const m = parseNodeMessage(data);
  return m.kind === 'ok' ? m.value : undefined;
}
