import { parseArgs } from 'node:util';
import { PROTOCOLS, type Protocol } from '@knp/shared';
import { compileAll, explain, explainMatrix, type ClusterState, type Explanation, type SideVerdict } from '@knp/compiler';
import { clusterFromManifests } from '../cluster-from-manifests.js';
import type { Command } from '../command.js';
import { UsageError, type CommandIo, type Env } from '../io.js';
import { liveState, operatorConnection, parseSeqFlag, type Moment } from '../live-state.js';
import { parseTimeFlag } from '../time-flag.js';
import { safeText } from '../safe-text.js';

const USAGE = `usage: knp explain (--from NS/POD --to NS/POD | --all-pairs) --port PORT/PROTOCOL [--json]
                   [--manifests PATH... | --at-seq S | --at TIME]

Whether traffic from one pod to another is allowed, and by which policies and rules on the source's egress
and the destination's ingress, judged from the compiled per-node rule sets; or the whole pod x pod matrix.
The cluster comes from --manifests (files or folders), or else from the events stream (KNP_NATS_URL,
KNP_PREFIX): as of now, of stream sequence S, or of a time (RFC 3339, HH:MM[:SS] UTC today, or 15m / 2h
ago): which rules were in force when that connection failed; from the stream, only events signed by
KNP_TRUSTED_WATCHER_KEYS and snapshots signed by KNP_TRUSTED_COMPILER_KEYS are used, when set. Exit 0 when answered (allowed or denied), 2
for bad flags or input.`;

/** Parses `80/TCP` (protocol any case; TCP when omitted). */
export function parsePortFlag(text: string): { port: number; protocol: Protocol } {
  const match = /^(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(text);
  const port = Number(match?.[1]);
  const protocol = (match?.[2] ?? 'TCP').toUpperCase() as Protocol;
  if (!match || port < 1 || port > 65535 || !PROTOCOLS.includes(protocol)) throw new UsageError(`--port ${JSON.stringify(text)}: expected PORT/PROTOCOL, e.g. 80/TCP (TCP, UDP or SCTP)`);
  return { port, protocol };
}

/**
 * `knp explain`: allowed or denied, with the policies and rules on the source's egress and the
 * destination's ingress, computed from the compiled per-node rule sets. Exit 0 when answered.
 */
export const explainCommand: Command = {
  name: 'explain',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        manifests: { type: 'string', multiple: true },
        'at-seq': { type: 'string' },
        at: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'all-pairs': { type: 'boolean' },
        port: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
    const live = !values.manifests?.length;
    if (!live && (values['at-seq'] !== undefined || values.at !== undefined)) throw new UsageError('--at-seq and --at read the events stream: not with --manifests');
    if (values['at-seq'] !== undefined && values.at !== undefined) throw new UsageError('give --at-seq or --at, not both');
    if (!values.port) throw new UsageError('--port is required');
    const pair = values.from !== undefined || values.to !== undefined;
    if (pair === !!values['all-pairs'] || (pair && (!values.from || !values.to))) throw new UsageError('give --from and --to, or --all-pairs');
    const { port, protocol } = parsePortFlag(values.port);

    const moment: Moment =
      values['at-seq'] !== undefined ? { kind: 'seq', seq: parseSeqFlag(values['at-seq']) } : values.at !== undefined ? { kind: 'time', timeMs: parseTimeFlag('--at', values.at, Date.now()) } : { kind: 'now' };
    const state = live ? await streamState(moment, io, env) : clusterFromManifests(values.manifests!, io, env);
    // one code path from here: offline and live both compile every node and judge from the rule sets
    const ruleSets = compileAll(state);
    if (values['all-pairs']) {
      const matrix = explainMatrix(state, ruleSets, port, protocol);
      io.out(values.json ? `${JSON.stringify(matrix)}\n` : formatMatrix(matrix.pods, matrix.allowed, `${port}/${protocol}`));
      return 0;
    }
    const result = explain(state, ruleSets, values.from!, values.to!, port, protocol);
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatExplanation(result));
    return 0;
  },
};

/** The cluster as the events stream says at `moment`; names the sequence (and time) on stderr. */
async function streamState(moment: Moment, io: CommandIo, env: Env): Promise<ClusterState> {
  const { nc, prefix, log, signing } = await operatorConnection(env, 'explain');
  try {
    const live = await liveState(nc, prefix, moment, log, signing);
    const when = moment.kind === 'time' ? ` (the last event at or before ${new Date(moment.timeMs).toISOString()})` : '';
    io.err(`as of events stream sequence ${live.seq}${when}, epoch ${live.epoch}\n`);
    return live.state;
  } finally {
    await nc.close();
  }
}

/**
 * One direction's line: the ClusterNetworkPolicy rule that decided it (tier, policy, rule, action), or the
 * NetworkPolicy rules, or the default; then any Pass rules the packet went through on the way.
 */
function formatSide(label: string, podName: string, side: SideVerdict & { node: string }): string {
  const head = `  ${label} of ${safeText(podName)} (node ${safeText(side.node)}): `;
  const passed = side.passedBy ? `; passed on by ${safeText(side.passedBy.map((o) => `ClusterNetworkPolicy ${o.policy} ${label}[${o.rule}] (${o.tier} tier, priority ${o.priority})`).join(', '))}` : '';
  const d = side.decidedBy;
  if (d.tier === 'admin' || d.tier === 'baseline')
    return `${head}${d.action === 'Accept' ? 'allowed' : 'denied'} by ClusterNetworkPolicy ${safeText(d.policy)} ${label}[${d.rule}] (${d.tier} tier, priority ${d.priority}, ${d.action})${passed}\n`;
  if (!side.isolated) return `${head}allowed, not isolated (no policy selects it for ${label})${passed}\n`;
  const by = safeText(side.policies.join(', '));
  if (!side.allowed) return `${head}denied, isolated by ${by}; no rule matches${passed}\n`;
  const rules = safeText(side.allowedBy.map((o) => `${o.policy} ${label}[${o.rule}]`).join(', '));
  return `${head}allowed by ${rules} (isolated by ${by})${passed}\n`;
}

export function formatExplanation(e: Explanation): string {
  return (
    `${safeText(e.from)} (${e.sourceIp}) -> ${safeText(e.to)} (${e.destinationIp}) ${e.port}/${e.protocol}: ${e.allowed ? 'ALLOWED' : 'DENIED'}\n` +
    formatSide('egress', e.from, e.egress) +
    formatSide('ingress', e.to, e.ingress)
  );
}

function formatMatrix(names: readonly string[], allowed: readonly (readonly boolean[])[], what: string): string {
  const pods = names.map(safeText);
  const width = Math.max(4, ...pods.map((p) => p.length));
  const header = `${'from \\ to'.padEnd(width)} ${pods.map((p) => p.padStart(width)).join(' ')}\n`;
  const rows = pods.map((p, i) => `${p.padEnd(width)} ${allowed[i]!.map((a) => (a ? '.' : 'X').padStart(width)).join(' ')}\n`);
  return `${what} (. allowed, X denied)\n${header}${rows.join('')}`;
}
