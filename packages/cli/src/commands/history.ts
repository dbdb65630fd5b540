import { parseArgs } from 'node:util';
import { APPLIER_KEY_PREFIX, STATUS_SCHEMA, applierStatusKey, names, type ApplierRecord } from '@knp/shared';
import { HistoryRecorder, isEmptyDiff, type HistoryEntry, type RuleSetDiff } from '@knp/compiler';
import { foldStream, seqAtTime } from '@knp/compiler/service';
import { kvKeys } from '@knp/shared/nats';
import type { NatsConnection } from 'nats';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';
import { operatorConnection } from '../live-state.js';
import { safeText } from '../safe-text.js';
import { parseTimeFlag } from '../time-flag.js';

const USAGE = `usage: knp history --node NAME [--since TIME] [--json]
       knp history --at TIME [--json]

Recomputed from the events stream (the rules stream keeps only a few versions per node): with --node, each
version of that node's rule set, the event that made it, when, and what changed from the one before (pods,
isolation, policies, rules with their peers and ports, peer set members); --since shows only versions from
then on. With --at, every node's desired version at that time and, where the status bucket still holds the
applier's record of that time, the version it had applied. TIME: RFC 3339, HH:MM[:SS] (UTC, today) or
15m / 2h / 1d ago. Environment: KNP_NATS_URL, KNP_PREFIX, KNP_TRUSTED_WATCHER_KEYS (fold only signed events).`;

/** `knp history`: versions of a node's rule set over time, or every node at one moment. */
export const historyCommand: Command = {
  name: 'history',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({ args: [...argv], options: { node: { type: 'string' }, since: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false });
    if ((values.node === undefined) === (values.at === undefined)) throw new UsageError('give --node NAME, or --at TIME');
    if (values.at !== undefined && values.since !== undefined) throw new UsageError('--since goes with --node');
    const now = Date.now();
    const sinceMs = values.since === undefined ? undefined : parseTimeFlag('--since', values.since, now);
    const atMs = values.at === undefined ? undefined : parseTimeFlag('--at', values.at, now);
    const { nc, prefix, log, signing } = await operatorConnection(env, 'history');
    try {
      const jsm = await nc.jetstreamManager();
      const toSeq = atMs === undefined ? undefined : await seqAtTime(jsm, prefix, atMs);
      const recorder = new HistoryRecorder(values.node === undefined ? undefined : new Set([values.node]));
      let started = false;
      // from the start of the stream: the versions before a snapshot are history too
      const folded = await foldStream(nc, prefix, {
        fromStart: true,
        signing,
        ...(toSeq !== undefined ? { toSeq: Math.max(toSeq, 0) } : {}),
        log,
        onEvent: (before, after, e) => {
          if (!started) (started = true), recorder.begin(before);
          recorder.observe(before, after, e.event, e.seq, e.timeMs);
        },
      });
      if (!started) recorder.begin(folded.state);
      if (values.node !== undefined) {
        const entries = recorder.entries.filter((e) => sinceMs === undefined || e.timeMs >= sinceMs);
        io.out(values.json ? `${JSON.stringify({ node: values.node, epoch: folded.epoch, versions: entries }, null, 2)}\n` : renderVersions(values.node, folded.epoch, entries));
        return 0;
      }
      const desired = latestPerNode(recorder.entries);
      const applied = await appliedAt(nc, prefix, atMs!);
      const nodes = [...new Set([...desired.keys(), ...applied.keys()])].sort();
      const rows = nodes.map((node) => ({ node, desired: desired.get(node), applied: applied.get(node) }));
      io.out(values.json ? `${JSON.stringify({ at: new Date(atMs!).toISOString(), seq: toSeq, epoch: folded.epoch, nodes: rows }, null, 2)}\n` : renderAt(atMs!, toSeq ?? 0, rows));
      return 0;
    } finally {
      await nc.close();
    }
  },
};

function latestPerNode(entries: readonly HistoryEntry[]): Map<string, HistoryEntry> {
  const out = new Map<string, HistoryEntry>();
  for (const e of entries) out.set(e.node, e);
  return out;
}

type Applied = { readonly seq: number; readonly hash: string; readonly recordedAt: string };

/** Per node, the version its applier recorded last at or before `atMs`, from the status bucket's kept revisions. */
async function appliedAt(nc: NatsConnection, prefix: string, atMs: number): Promise<Map<string, Applied>> {
  const out = new Map<string, Applied>();
  let kv;
  try {
    kv = await nc.jetstream().views.kv(names(prefix).statusBucket, { bindOnly: true });
  } catch {
    return out;
  }
  const keys = await kvKeys(await nc.jetstreamManager(), names(prefix).statusBucket, `${APPLIER_KEY_PREFIX}>`);
  for (const key of keys) {
    for await (const entry of await kv.history({ key })) {
      if (entry.operation !== 'PUT' || entry.created.getTime() > atMs) continue;
      const record = entry.json<ApplierRecord>();
      if (record?.schema !== STATUS_SCHEMA || !record.version || !record.hash || applierStatusKey(record.node) !== key) continue;
      out.set(record.node, { seq: record.version.seq, hash: record.hash, recordedAt: entry.created.toISOString() });
    }
  }
  return out;
}

const when = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : 'before the stream');

function renderDiff(d: RuleSetDiff): string[] {
  const lines: string[] = [];
  for (const p of d.pods.added) lines.push(`  + pod ${p}`);
  for (const p of d.pods.removed) lines.push(`  - pod ${p}`);
  for (const p of d.pods.isolation) lines.push(`  ~ ${p}`);
  for (const p of d.policies.added) lines.push(`  + policy ${p}`);
  for (const p of d.policies.removed) lines.push(`  - policy ${p}`);
  for (const r of d.rules.added) lines.push(`  + rule ${r}`);
  for (const r of d.rules.removed) lines.push(`  - rule ${r}`);
  for (const s of d.peers) lines.push(`  ~ peers of ${s.set}:${s.added.map((a) => ` +${a}`).join('')}${s.removed.map((r) => ` -${r}`).join('')}`);
  return lines.map(safeText);
}

function renderVersions(node: string, epoch: string, entries: readonly HistoryEntry[]): string {
  const out = [`node ${safeText(node)}: ${entries.length} version(s), events stream epoch ${epoch}`];
  for (const e of entries) {
    out.push(`seq ${e.seq}  ${when(e.timeMs)}  hash ${e.hash.slice(0, 12)}`);
    out.push(...(isEmptyDiff(e.diff) ? ['  (the node had no rule set before)'] : renderDiff(e.diff)));
  }
  return `${out.join('\n')}\n`;
}

function renderAt(atMs: number, seq: number, rows: readonly { node: string; desired?: HistoryEntry; applied?: Applied }[]): string {
  const out = [`as of ${new Date(atMs).toISOString()} (events stream sequence ${seq})`, 'NODE  DESIRED (seq, hash, since)  APPLIED (seq, hash, recorded)'];
  for (const r of rows)
    out.push(`${safeText(r.node)}  ${r.desired ? `${r.desired.seq} ${r.desired.hash.slice(0, 12)} ${when(r.desired.timeMs)}` : '-'}  ${r.applied ? `${r.applied.seq} ${r.applied.hash.slice(0, 12)} ${r.applied.recordedAt}` : '(no applier record kept for that time)'}`);
  return `${out.join('\n')}\n`;
}
