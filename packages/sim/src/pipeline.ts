import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsCluster, type ClusterSpec, type PodSpec } from './netns/cluster.js';
import { RestartableNats, Service, knpInit } from './processes.js';
import { startStandin, type Standin, type StandinOptions } from './standin/standin.js';

export type Backend = 'nftables' | 'iptables';

export type PipelineOptions = {
  /** KNP_PREFIX, distinct per test file. */
  readonly prefix: string;
  readonly nodes: readonly string[];
  readonly pods: readonly PodSpec[];
  /** Servers to use (KNP_NATS_URL); default: a private RestartableNats the pipeline owns. */
  readonly natsUrl?: string;
  readonly compilers?: number;
  readonly backend?: Backend;
  /** More variables for every service. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node addresses and agents for the cluster (`nodes` peers, node probes); default none. */
  readonly nodeListeners?: ClusterSpec['nodeListeners'];
  /** The stand-in's options (e.g. `clusterNetworkPolicyCrd: false`: the CRD starts absent). */
  readonly standin?: StandinOptions;
};

/**
 * The whole pipeline as processes for an end-to-end test: the API stand-in, NATS, the simulated cluster in
 * network namespaces, `bin/knp watcher`, the compilers and one `bin/knp applier` per node (KNP_NETNS = its
 * node), each logging to its own file. Created stopped: `init()` (knp init), then `start()`; `destroy()`
 * removes everything.
 */
export class Pipeline {
  readonly dir = mkdtempSync(join(tmpdir(), 'knp-pipeline-'));
  readonly env: Record<string, string>;
  readonly watcher: Service;
  readonly compilers: Service[];
  readonly appliers: Map<string, Service>;

  private constructor(
    readonly options: PipelineOptions,
    readonly standin: Standin,
    readonly cluster: NetnsCluster,
    readonly nats: RestartableNats | undefined,
    natsUrl: string,
  ) {
    this.env = { KNP_NATS_URL: natsUrl, KNP_PREFIX: options.prefix, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1', ...options.env };
    const kubeconfig = join(this.dir, 'kubeconfig');
    standin.writeKubeconfig(kubeconfig);
    this.watcher = new Service('watcher', ['watcher'], { ...this.env, KUBECONFIG: kubeconfig }, this.logDir);
    this.compilers = Array.from({ length: options.compilers ?? 1 }, (_, i) => new Service(`compiler-${i + 1}`, ['compiler'], this.env, this.logDir));
    this.appliers = new Map(options.nodes.map((node) => [node, this.applier(node, options.backend ?? 'nftables')]));
  }

  static async create(options: PipelineOptions): Promise<Pipeline> {
    const nats = options.natsUrl === undefined ? await RestartableNats.start() : undefined;
    let standin: Standin | undefined;
    try {
      standin = await startStandin(options.standin);
      const cluster = await NetnsCluster.create({
        nodes: [...options.nodes], pods: [...options.pods], ...(options.nodeListeners ? { nodeListeners: options.nodeListeners } : {}),
      });
      return new Pipeline(options, standin, cluster, nats, options.natsUrl ?? nats!.url);
    } catch (err) {
      // nothing half-built outlives a failed set-up (a listening stand-in would keep the test process alive)
      await standin?.close();
      await nats?.destroy();
      throw err;
    }
  }

  get logDir(): string {
    return join(this.dir, 'logs');
  }

  /** A new applier for `node` on `backend` (not started; its state directory is the backend's own). */
  applier(node: string, backend: Backend): Service {
    return new Service(`applier-${node}-${backend}`, ['applier'], {
      ...this.env, KNP_NODE_NAME: node, KNP_NETNS: this.cluster.netnsOf(node), KNP_STATE_DIR: join(this.dir, `state-${backend}`), KNP_BACKEND: backend,
    }, this.logDir);
  }

  services(): Service[] {
    return [this.watcher, ...this.compilers, ...this.appliers.values()];
  }

  /** `knp init`: the streams, buckets and store the services wait for (they never create them). */
  async init(): Promise<void> {
    await knpInit(this.env);
  }

  start(): void {
    for (const s of this.services()) s.start();
  }

  /** The last lines of every service's log, for a failure message. */
  logTails(lines = 20): string {
    return this.services().map((s) => `--- ${s.name} (last lines)\n${s.logTail(lines)}`).join('\n');
  }

  /** Stops every service and removes the namespaces, the stand-in, NATS and the folder (KNP_E2E_KEEP_LOGS keeps it). */
  async destroy(): Promise<void> {
    for (const s of this.services()) await s.stop();
    await this.cluster.destroy();
    await this.standin.close();
    await this.nats?.destroy();
    if (process.env.KNP_E2E_KEEP_LOGS) process.stdout.write(`logs kept in ${this.logDir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
