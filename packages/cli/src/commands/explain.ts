import { parseArgs } from 'node:util';
import { PROTOCOLS, type Protocol } from '@knp/shared';
import { compileAll, explain, explainMatrix, type Explanation, type SideVerdict } from '@knp/compiler';
import { clusterFromManifests } from '../cluster-from-manifests.js';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';

const USAGE = `usage: knp explain --manifests PATH (--from NS/POD --to NS/POD | --all-pairs) --port PORT/PROTOCOL [--json]

Whether traffic from one pod to another is allowed, and by which policies and rules on the source's egress
and the destination's ingress, judged from the compiled per-node rule sets; or the whole pod x pod matrix.
Exit 0 when answered (allowed or denied), 2 for bad flags or input.`;

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
  async run(argv, io) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        manifests: { type: 'string', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        'all-pairs': { type: 'boolean' },
        port: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.manifests?.length) throw new UsageError('--manifests is required');
    if (!values.port) throw new UsageError('--port is required');
    const pair = values.from !== undefined || values.to !== undefined;
    if (pair === !!values['all-pairs'] || (pair && (!values.from || !values.to))) throw new UsageError('give --from and --to, or --all-pairs');
    const { port, protocol } = parsePortFlag(values.port);

    const state = clusterFromManifests(values.manifests, io);
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

function formatSide(label: string, pod: string, side: SideVerdict & { node: string }): string {
  if (!side.isolated) return `  ${label} of ${pod} (node ${side.node}): allowed, not isolated (no policy selects it for ${label})\n`;
  const by = side.policies.join(', ');
  if (!side.allowed) return `  ${label} of ${pod} (node ${side.node}): denied, isolated by ${by}; no rule matches\n`;
  const rules = side.allowedBy.map((o) => `${o.policy} ${label}[${o.rule}]`).join(', ');
  return `  ${label} of ${pod} (node ${side.node}): allowed by ${rules} (isolated by ${by})\n`;
}

export function formatExplanation(e: Explanation): string {
  return (
    `${e.from} (${e.sourceIp}) -> ${e.to} (${e.destinationIp}) ${e.port}/${e.protocol}: ${e.allowed ? 'ALLOWED' : 'DENIED'}\n` +
    formatSide('egress', e.from, e.egress) +
    formatSide('ingress', e.to, e.ingress)
  );
}

function formatMatrix(pods: readonly string[], allowed: readonly (readonly boolean[])[], what: string): string {
  const width = Math.max(4, ...pods.map((p) => p.length));
  const header = `${'from \\ to'.padEnd(width)} ${pods.map((p) => p.padStart(width)).join(' ')}\n`;
  const rows = pods.map((p, i) => `${p.padEnd(width)} ${allowed[i]!.map((a) => (a ? '.' : 'X').padStart(width)).join(' ')}\n`);
  return `${what} (. allowed, X denied)\n${header}${rows.join('')}`;
}
