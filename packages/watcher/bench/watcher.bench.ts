// Events/s from the API stand-in through the watcher into JetStream: a 10,000-pod initial list, then churn.
// Prints figures and the machine; never asserts on time. Needs `pnpm build` (the stand-in and the
// nats-server launcher come from @knp/sim).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfig, names } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { connect } from 'nats';
import { startNatsServer, startStandin, type K8sObject } from '@knp/sim';
import { runWatcher, type WatcherHandle } from '../src/watcher.js';

const PODS = Number(process.env.KNP_BENCH_PODS ?? 10_000);
const NAMESPACES = 100;
const CHURN = Number(process.env.KNP_BENCH_CHURN ?? 5_000);

const pod = (i: number): K8sObject => ({
  metadata: { namespace: `ns-${i % NAMESPACES}`, name: `pod-${i}`, labels: { app: `app-${i % 50}`, 'pod-template-hash': `h${i}` } },
  spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }], conditions: [] },
});

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

const caughtUp = (w: WatcherHandle, published: number): boolean => {
  const s = w.status();
  return s.upToDate && s.published >= published;
};

const dir = mkdtempSync(join(tmpdir(), 'knp-watcher-bench-'));
const nats = await startNatsServer();
const standin = await startStandin();
const nc = await connect({ servers: nats.url });
let watcher: WatcherHandle | undefined;
try {
  for (let n = 0; n < NAMESPACES; n += 1) standin.create('Namespace', { metadata: { name: `ns-${n}`, labels: { team: `t${n % 7}` } } });
  for (let i = 0; i < PODS; i += 1) standin.create('Pod', pod(i));
  const kubeconfig = join(dir, 'kubeconfig');
  standin.writeKubeconfig(kubeconfig);
  const config = loadConfig({ KNP_NATS_URL: nats.url, KNP_PREFIX: 'bench' });
  const log = createLogger('watcher-bench', 'warn');

  await ensureStreams(nc, 'bench', DEFAULT_STREAM_SETTINGS);
  let t0 = performance.now();
  watcher = await runWatcher(config, log, { nc, heartbeatMs: 1_000, kubeconfigPath: kubeconfig });
  const initialEvents = PODS + NAMESPACES;
  await until('initial list', () => caughtUp(watcher!, initialEvents));
  const listMs = performance.now() - t0;

  t0 = performance.now();
  for (let i = 0; i < CHURN; i += 1)
    standin.update('Pod', { namespace: `ns-${i % NAMESPACES}`, name: `pod-${i % PODS}` }, (o) => { o.metadata.labels = { ...o.metadata.labels, rev: String(i) }; });
  await until('relevant churn', () => caughtUp(watcher!, initialEvents + CHURN));
  const churnMs = performance.now() - t0;

  const publishedBefore = watcher.status().published;
  t0 = performance.now();
  for (let i = 0; i < CHURN; i += 1)
    standin.update('Pod', { namespace: `ns-${i % NAMESPACES}`, name: `pod-${i % PODS}` }, (o) => { o.status.conditions = [{ type: 'Ready', lastProbeTime: String(i) }]; });
  const lastRv = String(initialEvents + 2 * CHURN + 1);
  await until('filtered churn', () => watcher!.status().kinds.Pod.resourceVersion === lastRv && watcher!.status().upToDate);
  const filteredMs = performance.now() - t0;
  const info = await (await nc.jetstreamManager()).streams.info(names('bench').eventsStream);

  const natsVersion = execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
  const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} events/s`;
  process.stdout.write(
    [
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${natsVersion}`,
      `initial list  ${initialEvents} objects (${PODS} pods) listed and published in ${Math.round(listMs)} ms: ${rate(initialEvents, listMs)}`,
      `churn         ${CHURN} relevant pod updates published in ${Math.round(churnMs)} ms: ${rate(CHURN, churnMs)}`,
      `heartbeats    ${CHURN} irrelevant pod updates filtered in ${Math.round(filteredMs)} ms: ${rate(CHURN, filteredMs)} (published ${watcher.status().published - publishedBefore})`,
      `stream        ${info.state.messages} messages, ${(info.state.bytes / 2 ** 20).toFixed(1)} MiB (one publish in flight, each acked before the next)`,
      '',
    ].join('\n'),
  );
} finally {
  await watcher?.stop();
  await nc.close();
  await standin.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
