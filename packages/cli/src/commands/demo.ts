import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger, names, textVariable } from '@knp/shared';
import { compileAll, explain } from '@knp/compiler';
import { replayNode } from '@knp/compiler/service';
import type { Command } from '../command.js';
import { UsageError, type CommandIo, type Env } from '../io.js';
import { liveState, operatorSigning } from '../live-state.js';
import { loadManifests } from '../load-manifests.js';
import { FactsReader, rulesTrustFromEnv } from '../ops/facts.js';
import { renderStatus, statusReport } from '../ops/status-report.js';
import { disagreements, pairKey, renderMatrix, type Verdicts } from '../demo/matrix.js';
import { demoPairs, demoScenario, type DemoObject, type DemoScenario } from '../demo/scenario.js';
import { DemoStack } from '../demo/stack.js';
import { formatExplanation } from './explain.js';

const EXAMPLES = fileURLToPath(new URL('../../../../../examples/', import.meta.url));

const USAGE = `usage: knp demo [--keep] [--backend nftables|iptables]

The whole pipeline, live, on this machine, with no Kubernetes cluster: a private nats-server, a Kubernetes
API stand-in loaded with examples/, a two-node cluster in network namespaces whose pods serve TCP, and the
watcher, two compilers and one applier per node as processes, signing on. It measures the pod x pod matrix
on real packets with no policies, applies the example policies, measures again next to knp explain's
answer, makes live changes (a pod relabelled, a pod added) with their API-write-to-kernel latency, adds a
ClusterNetworkPolicy whose Admin Deny beats a NetworkPolicy allow (measured, and explained), and shows knp
status and knp replay of a node at an earlier sequence. Everything it started is removed at the end, also on Ctrl-C; --keep leaves it running until Ctrl-C and prints how to point the other commands at it.
KNP_NATS_URL (with the KNP_NATS_* identity and TLS variables, one identity allowed everything): use that
NATS instead of starting one; the streams are made as knp init makes them. Needs root (network namespaces, nftables).`;

/** `knp demo`: the narrated live pipeline. Exit 0 when every measured matrix equals explain's. */
export const demoCommand: Command = {
  name: 'demo',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({ args: [...argv], options: { keep: { type: 'boolean' }, backend: { type: 'string', default: 'nftables' } }, strict: true, allowPositionals: false });
    const backend = values.backend;
    if (backend !== 'nftables' && backend !== 'iptables') throw new UsageError(`--backend ${JSON.stringify(backend)}: nftables or iptables`);
    const missing = prerequisites(backend);
    if (missing.length > 0) {
      io.err(`knp demo needs ${missing.join('; ')}.\nIt creates network namespaces and loads rules only inside them; nothing outside them is touched.\n`);
      return 2;
    }
    const scenario = demoScenario(loadManifests([EXAMPLES]) as DemoObject[]);
    const stack = new DemoStack(scenario, backend, createLogger('demo', 'warn', 2));
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) return;
      interrupted = true;
      io.err('\ninterrupted: removing everything the demo started\n');
      void stack.stop().then(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const ok = await narrate(stack, scenario, io, natsEnvOf(env));
      if (values.keep && !interrupted) {
        io.out(`\nstill running (Ctrl-C removes it). Point the other commands at it:\n  export KNP_NATS_URL=${stack.env.KNP_NATS_URL?.replace(/\/\/[^@/]*@/g, '//***@')} KNP_PREFIX=${stack.prefix} KNP_TRUSTED_COMPILER_KEYS=${stack.env.KNP_TRUSTED_COMPILER_KEYS}${stack.env.KNP_NATS_USER ? ` KNP_NATS_USER=${stack.env.KNP_NATS_USER} KNP_NATS_PASSWORD_FILE=${stack.env.KNP_NATS_PASSWORD_FILE}` : ''}\n  bin/knp status; bin/knp explain --all-pairs --port 9000/TCP; bin/knp history --node ${scenario.nodes[0]}\n  the API stand-in: KUBECONFIG=${stack.dir}/kubeconfig; service logs: ${stack.dir}/logs\n`);
        await new Promise(() => undefined); // until a signal
      }
      return ok ? 0 : 1;
    } catch (err) {
      if (interrupted) return 130;
      io.err(`knp demo: failed: ${(err as Error).message}\n`);
      return 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (!interrupted) await stack.stop();
    }
  },
};

/** What is missing on this machine, as sentences (empty when the demo can run). */
function prerequisites(backend: 'nftables' | 'iptables'): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (it creates network namespaces and programs their firewalls)');
  const has = (tool: string): boolean => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  for (const tool of ['ip', 'nats-server', ...(backend === 'nftables' ? ['nft'] : ['iptables-restore', 'ipset'])])
    if (!has(tool)) missing.push(`${tool} (Debian: ${tool === 'ip' ? 'iproute2' : tool === 'nft' ? 'nftables' : tool === 'iptables-restore' ? 'iptables' : tool})`);
  return missing;
}

const ms = (n: number): string => `${Math.round(n)} ms`;
const STEPS = 8;

/** Step 5's policy: an incident response isolating the web tier from the API, above the namespaces' NetworkPolicies. */
const INCIDENT = {
  apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'incident-isolate-web' },
  spec: {
    tier: 'Admin', priority: 10, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'backend' } } },
    ingress: [{ name: 'deny-web', action: 'Deny', from: [{ pods: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } }, podSelector: { matchLabels: { app: 'web' } } } }] }],
  },
};

/** The story, step by step; true when every measured matrix equals explain's. */
/** KNP_NATS_URL and the KNP_NATS_* identity and TLS variables when a NATS is given; undefined to start one. */
function natsEnvOf(env: Env): Record<string, string> | undefined {
  if (textVariable(env, 'KNP_NATS_URL') === undefined) return undefined;
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('KNP_NATS_') && e[1] !== undefined));
}

async function narrate(stack: DemoStack, scenario: DemoScenario, io: CommandIo, natsEnv: Record<string, string> | undefined): Promise<boolean> {
  const natsUrl = natsEnv?.KNP_NATS_URL;
  const started = Date.now();
  const step = (n: number, text: string): void => io.out(`\n== ${n}/${STEPS} ${text}\n`);
  const pods = scenario.podSpecs.map((p) => p.name).sort();
  const ports = new Map(scenario.podSpecs.map((p) => [p.name, (p.ports ?? [80])[0]!]));
  let ok = true;
  const log = createLogger('demo', 'warn', 2);

  step(1, `starting: ${natsUrl ? `NATS at ${natsUrl}` : 'a private nats-server'}, the API stand-in with examples/, ${scenario.nodes.length} nodes and ${pods.length} pods in network namespaces, watcher, 2 compilers, ${scenario.nodes.length} appliers`);
  await stack.start(natsEnv);
  await stack.waitSynced(stack.standin!.resourceVersion());
  io.out(`   up and synced in ${ms(Date.now() - started)}; rules signed by the compilers, events by the watcher\n`);

  step(2, 'no policies yet: every pod reaches every other, measured on real TCP connections');
  const open = await measure(stack, scenario);
  io.out(renderMatrix(pods, ports, open));
  const seqBeforePolicies = (await stack.nc!.jetstreamManager().then((j) => j.streams.info(names(stack.prefix).eventsStream))).state.last_seq;

  step(3, `the ${scenario.policies.length} example policies go into the API`);
  const before = Date.now();
  for (const p of scenario.policies) stack.standin!.create('NetworkPolicy', structuredClone(p) as never);
  const synced = await stack.waitSynced(stack.standin!.resourceVersion());
  io.out(`   written, compiled, signed and in both kernels in ${ms(Date.now() - before)} (${synced.nodes.map((n) => `${n.node} version ${n.applied?.version.seq}`).join(', ')})\n`);
  ok = (await compare(stack, scenario, pods, ports, io, 'the example policies')) && ok;

  step(4, 'live changes');
  const web2 = scenario.pods.find((p) => p.metadata.namespace === 'frontend' && p.metadata.name === 'web-2');
  if (web2) {
    await change(stack, io, 'frontend/web-2 relabelled app=web -> app=canary (the api policy no longer admits it)', () =>
      stack.standin!.update('Pod', { namespace: 'frontend', name: 'web-2' }, (o) => void (o.metadata.labels = { ...o.metadata.labels, app: 'canary' })));
  }
  const added = { name: 'backend/api-3', ip: '10.244.1.21', node: scenario.nodes[0]!, ports: [9000, 9100] };
  await stack.cluster!.addPod(added);
  const podsNow = [...pods, added.name].sort();
  const portsNow = new Map([...ports, [added.name, 9000]]);
  await change(stack, io, `${added.name} added on ${added.node} (app=api: the web tier may call it, it may call postgres)`, () =>
    stack.standin!.create('Pod', {
      metadata: { name: 'api-3', namespace: 'backend', labels: { app: 'api', tier: 'backend' } },
      spec: { nodeName: added.node, containers: [{ name: 'api', ports: [{ name: 'api', containerPort: 9000 }, { name: 'metrics', containerPort: 9100 }] }] },
      status: { phase: 'Running', podIP: added.ip, podIPs: [{ ip: added.ip }] },
    } as never));
  const scenarioNow: DemoScenario = { ...scenario, podSpecs: [...scenario.podSpecs, added] };
  ok = (await compare(stack, scenarioNow, podsNow, portsNow, io, 'after the changes')) && ok;

  step(5, 'a ClusterNetworkPolicy (Admin tier) denies web -> api: it decides before the NetworkPolicy that allows it');
  await change(stack, io, `ClusterNetworkPolicy ${INCIDENT.metadata.name} created: Admin tier, priority 10, Deny from frontend app=web into backend`, () =>
    stack.standin!.create('ClusterNetworkPolicy', structuredClone(INCIDENT) as never));
  ok = (await compare(stack, scenarioNow, podsNow, portsNow, io, 'with the ClusterNetworkPolicy')) && ok;
  const api = podsNow.find((p) => p.startsWith('backend/')), web = podsNow.find((p) => p.startsWith('frontend/web-1'));
  if (api && web) {
    const { state } = await liveState(stack.nc!, stack.prefix, { kind: 'now' }, log, operatorSigning(stack.env, log));
    io.out(`   knp explain --from ${web} --to ${api} --port ${portsNow.get(api)}/TCP:\n${formatExplanation(explain(state, compileAll(state), web, api, portsNow.get(api)!, 'TCP')).trimEnd().replace(/^/gm, '     ')}\n`);
  }

  step(6, 'knp status');
  io.out(renderStatus(statusReport(await new FactsReader(stack.nc!, stack.prefix, rulesTrustFromEnv(stack.env)).read())));

  step(7, `knp replay: ${scenario.nodes[0]} rebuilt from the events stream as of sequence ${seqBeforePolicies} (before the policies) and now`);
  for (const [label, toSeq] of [[`as of seq ${seqBeforePolicies}`, seqBeforePolicies], ['now', undefined]] as const) {
    const r = await replayNode(stack.nc!, stack.prefix, scenario.nodes[0]!, { ...(toSeq !== undefined ? { toSeq } : {}), log });
    const isolated = r.ruleSet.pods.filter((p) => p.ingress.isolated || p.egress.isolated).length;
    io.out(`   ${label.padEnd(14)} version ${r.ruleSet.version.seq}: ${r.ruleSet.pods.length} pods (${isolated} isolated), ${r.ruleSet.rules.length} rules, ${r.ruleSet.tierRules?.length ?? 0} tier rules, ${r.ruleSet.sets.length} address sets, hash ${r.ruleSet.contentHash.slice(0, 12)}\n`);
  }

  step(8, ok ? `done in ${ms(Date.now() - started)}: every measured matrix equals knp explain's` : 'done, but a measured matrix differs from knp explain (see above)');
  return ok;
}

/** Probes every pair on the destination's port; a pair that failed is tried once more with a long timeout, so a slow machine never reads as a drop. */
async function measure(stack: DemoStack, scenario: DemoScenario): Promise<Verdicts> {
  const pairs = demoPairs(scenario.podSpecs).map((p) => ({ ...p, protocol: 'TCP' as const }));
  const first = await stack.cluster!.probePairs(pairs, 500);
  const retry = first.filter((r) => !r.allowed).map((r) => pairs.find((p) => p.from === r.from && p.to === r.to)!);
  const again = await stack.cluster!.probePairs(retry, 2_000);
  const out = new Map(first.map((r) => [pairKey(r.from, r.to), r.allowed]));
  for (const r of again) out.set(pairKey(r.from, r.to), r.allowed);
  return out;
}

/** knp explain's verdicts, from the events stream as of now (the same path as `knp explain` without --manifests). */
async function explained(stack: DemoStack, scenario: DemoScenario): Promise<Verdicts> {
  const log = createLogger('demo', 'warn', 2);
  const { state } = await liveState(stack.nc!, stack.prefix, { kind: 'now' }, log, operatorSigning(stack.env, log)); // signed, as the demo's compilers
  const ruleSets = compileAll(state);
  return new Map(demoPairs(scenario.podSpecs).map((p) => [pairKey(p.from, p.to), explain(state, ruleSets, p.from, p.to, p.port, 'TCP').allowed]));
}

async function compare(stack: DemoStack, scenario: DemoScenario, pods: readonly string[], ports: ReadonlyMap<string, number>, io: CommandIo, what: string): Promise<boolean> {
  const [measuredNow, explainedNow] = await Promise.all([measure(stack, scenario), explained(stack, scenario)]);
  io.out(`   ${what}: each cell is measured, then explain ('.' allowed, 'X' denied; columns are pod:port)\n`);
  io.out(renderMatrix(pods, ports, measuredNow, explainedNow));
  const diff = disagreements(measuredNow, explainedNow);
  const allowedPairs = [...measuredNow.values()].filter(Boolean).length;
  io.out(diff.length === 0 ? `   measured = explain: ${allowedPairs} of ${measuredNow.size} pairs allowed\n` : `   MISMATCH:\n${diff.map((d) => `     ${d}\n`).join('')}`);
  return diff.length === 0;
}

/** One API write, then the time until every node that changed had its new rule set in the kernel. */
async function change(stack: DemoStack, io: CommandIo, what: string, write: () => unknown): Promise<void> {
  const reader = new FactsReader(stack.nc!, stack.prefix, rulesTrustFromEnv(stack.env));
  const versionsBefore = new Map((await reader.read()).appliers.map((a) => [a.node, a.version?.seq ?? 0]));
  const t0 = Date.now();
  write();
  const verdict = await stack.waitSynced(stack.standin!.resourceVersion());
  const changed = verdict.nodes.filter((n) => n.applied && n.applied.version.seq !== versionsBefore.get(n.node) && n.applied.appliedAt);
  const latencies = changed.map((n) => `${n.node} ${ms(Date.parse(n.applied!.appliedAt!) - t0)}`);
  io.out(`   ${what}\n     API write -> rule set in the kernel: ${latencies.length > 0 ? latencies.join(', ') : 'no node needed a change'}\n`);
}
