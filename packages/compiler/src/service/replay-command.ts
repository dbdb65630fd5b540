import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig, names, parseRuleSet, type ClusterEvent, type Config, type Logger, type RuleSet } from '@knp/shared';
import { readLarge, streamEpoch } from '@knp/shared/nats';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { compileNode } from '../compile-node.js';
import { evolveAll } from '../evolve.js';
import { emptyState, type ClusterState } from '../state.js';
import { UsageError, type CommandIo } from '../cli/io.js';
import type { Renderer } from '../cli/compile-command.js';
import { openEventSource } from './event-source.js';
import { SnapshotStore } from './snapshots.js';
import { FOLD_CHUNK } from './compiler-service.js';

export const REPLAY_USAGE = `usage: knp replay --node NAME [--to-seq S] [--from-start] [--format ir|nft|iptables|ipset] [--apply]

Rebuilds a node's rule set from the events stream alone: the newest snapshot at or before S plus the events
after it (or every event with --from-start), as of now or as of stream sequence S. Prints it, or with
--apply loads it into this machine's kernel through the node applier. Environment: KNP_NATS_URL, KNP_PREFIX,
KNP_BACKEND, KNP_NETNS.`;

/** Loads a rule set into the kernel (supplied by the node-applier package); resolves with a one-line outcome, throws an `ApplyUnavailableError`-named error when it cannot for this configuration. */
export type ApplyRuleSet = (ruleSet: RuleSet, config: Config, log: Logger) => Promise<string>;

export type ReplayDeps = {
  readonly renderers: Readonly<Record<string, Renderer>>;
  readonly apply?: ApplyRuleSet | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
};

export type Replayed = { readonly ruleSet: RuleSet; readonly foldedSeq: number; readonly snapshotSeq: number; readonly versionFrom: 'published' | 'replay' };

/**
 * Rebuilds `node`'s rule set as of `toSeq` (default: the stream's last sequence). The content comes from
 * the events alone. The version is the one the compiler published for it (the newest version <= S on the
 * node's rules subject, when it has this very content); otherwise (epoch, last folded sequence), which is
 * what a compiler evaluating at S would publish.
 */
export async function replayNode(nc: NatsConnection, prefix: string, node: string, opts: { toSeq?: number; fromStart?: boolean; log: Logger }): Promise<Replayed> {
  const n = names(prefix);
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const epoch = await streamEpoch(jsm, n.eventsStream);
  if (epoch === undefined) throw new UsageError(`no events stream ${n.eventsStream}: is the watcher running with KNP_PREFIX=${prefix}?`);
  const info = await jsm.streams.info(n.eventsStream);
  const target = opts.toSeq ?? info.state.last_seq;
  if (target > info.state.last_seq) throw new UsageError(`--to-seq ${target} is past the stream's last sequence ${info.state.last_seq}`);

  let state: ClusterState = emptyState(epoch);
  if (!opts.fromStart && (await hasStream(jsm, `OBJ_${n.snapshotBucket}`))) {
    const store = await SnapshotStore.open(js, prefix, 1, opts.log);
    state = (await store.loadNewest(epoch, target))?.state ?? state;
  }
  const snapshotSeq = state.seq;
  if (target > state.seq) {
    const source = await openEventSource(js, jsm, prefix, state.seq, opts.log);
    let batch: ClusterEvent[] = [];
    for await (const c of source) {
      if (c.seq > target) break;
      if (c.event) batch.push(c.event);
      if (batch.length >= FOLD_CHUNK) (state = evolveAll(state, batch)), (batch = []);
      if (c.seq >= target || c.pending === 0) break;
    }
    await source.close();
    state = evolveAll(state, batch);
  }
  const rebuilt = compileNode(state, node, { epoch, seq: state.seq }).ruleSet;
  const published = await publishedAt(nc, jsm, n.rulesStream, n.rulesSubject(node), epoch, target);
  if (published && published.contentHash === rebuilt.contentHash) return { ruleSet: published, foldedSeq: state.seq, snapshotSeq, versionFrom: 'published' };
  return { ruleSet: rebuilt, foldedSeq: state.seq, snapshotSeq, versionFrom: 'replay' };
}

/** The newest rule set on `subject` with a version of this epoch at or before `seq` (the rules stream keeps a few per node). */
async function publishedAt(nc: NatsConnection, jsm: JetStreamManager, stream: string, subject: string, epoch: string, seq: number): Promise<RuleSet | undefined> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => undefined);
  if (!info || !info.state.subjects?.[subject]) return undefined;
  const consumer = await nc.jetstream().consumers.get(stream, { filterSubjects: subject });
  const messages = await consumer.consume({ max_messages: 16 });
  let best: RuleSet | undefined;
  try {
    for await (const m of messages) {
      try {
        const data = await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.headers });
        const rs = data && parseRuleSet(Buffer.from(data).toString('utf8'));
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

async function hasStream(jsm: JetStreamManager, name: string): Promise<boolean> {
  return jsm.streams.info(name).then(() => true, () => false);
}

/** `knp replay`: prints (or applies) one node's rule set rebuilt from the stream; returns the exit code. */
export async function replayCommand(argv: readonly string[], io: CommandIo, deps: ReplayDeps): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) return io.out(`${REPLAY_USAGE}\n`), 0;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      node: { type: 'string' },
      'to-seq': { type: 'string' },
      'from-start': { type: 'boolean' },
      format: { type: 'string', default: 'ir' },
      apply: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.node) throw new UsageError('--node is required');
  const toSeqText = values['to-seq'];
  if (toSeqText !== undefined && !/^[1-9]\d{0,15}$/.test(toSeqText)) throw new UsageError(`--to-seq ${JSON.stringify(toSeqText)}: expected a stream sequence (1, 2, ...)`);
  const format = values.format!;
  if (format !== 'ir' && !deps.renderers[format])
    throw new UsageError(`--format ${format}: expected ir${Object.keys(deps.renderers).length ? ` or one of ${Object.keys(deps.renderers).join('|')}` : ' (kernel formats need the node-applier package built)'}`);
  if (values.apply && !deps.apply) {
    io.err('knp replay: --apply needs the node applier (packages/node-applier, built); it is not available\n');
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(deps.env);
  } catch (err) {
    if (err instanceof ConfigError) return io.err(`${err.message}\n`), 2;
    throw err;
  }
  const log = createLogger('replay', config.logLevel === 'info' ? 'warn' : config.logLevel, 2); // stdout carries the rule set
  const nc = await connect({ servers: [...config.natsUrls], name: 'knp-replay' });
  try {
    const replayed = await replayNode(nc, config.prefix, values.node, { ...(toSeqText ? { toSeq: Number(toSeqText) } : {}), fromStart: values['from-start'] ?? false, log });
    const { ruleSet } = replayed;
    io.err(`replayed ${values.node}: snapshot ${replayed.snapshotSeq}, folded to ${replayed.foldedSeq}, version ${ruleSet.version.seq} (${replayed.versionFrom}), hash ${ruleSet.contentHash}\n`);
    if (values.apply) {
      try {
        io.out(`${await deps.apply!(ruleSet, config, log)}\n`);
        return 0;
      } catch (err) {
        io.err(`knp replay: --apply failed: ${(err as Error).message}\n`);
        return (err as Error).name === 'ApplyUnavailableError' ? 2 : 1;
      }
    }
    io.out(format === 'ir' ? `${JSON.stringify(ruleSet, null, 2)}\n` : deps.renderers[format]!(ruleSet, config.prefix));
    return 0;
  } finally {
    await nc.close();
  }
}
