import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, generateSigningKeyPair, loadNatsSettings, type Logger } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, connectNats, ensureStreams } from '@knp/shared/nats';
import { NetnsCluster, Service, startNatsServer, startStandin, type NatsServer, type Standin } from '@knp/sim';
import type { NatsConnection } from 'nats';
import { FactsReader, rulesTrustFromEnv } from '../ops/facts.js';
import { judgeSync, type SyncVerdict } from '../ops/judge.js';
import type { DemoScenario } from './scenario.js';

/** The prefix on a NATS the demo was pointed at (never a real deployment's `knp`). */
export const DEMO_PREFIX = 'demo';

/** The least-privilege server config shipped in infra/nats/ (written for the prefix `knp`). */
const NATS_CONF = fileURLToPath(new URL('../../../../../infra/nats/nats.conf', import.meta.url));
const ROLES = ['init', 'watcher', 'compiler', 'applier', 'operator'] as const;
type Role = (typeof ROLES)[number];

/**
 * Everything the demo runs, and removes: a private nats-server, the API stand-in, the simulated cluster in
 * network namespaces, and knp's services as processes (watcher, two compilers, one applier per node),
 * with signing keys made for this run.
 */
export class DemoStack {
  readonly dir = mkdtempSync(join(tmpdir(), 'knp-demo-'));
  nats: NatsServer | undefined;
  standin: Standin | undefined;
  cluster: NetnsCluster | undefined;
  /** The demo's own connection, as the read-only operator when it runs its own server. */
  nc: NatsConnection | undefined;
  readonly services: Service[] = [];
  /** What every service and command of this run shares (the operator's identity when the server is ours). */
  env: Record<string, string> = {};
  prefix = DEMO_PREFIX;
  /** Per role, the variables naming its NATS identity (empty when the demo uses a NATS it was given). */
  private identities = new Map<Role, Record<string, string>>();

  constructor(private readonly scenario: DemoScenario, private readonly backend: 'nftables' | 'iptables', private readonly log: Logger) {}

  /**
   * Starts NATS (or uses the one `natsEnv` names: KNP_NATS_URL and one identity allowed everything, passed
   * on to the services), creates the streams as `knp init` does, then the stand-in (namespaces and pods, no
   * policies yet), the cluster and the services.
   */
  async start(natsEnv: Readonly<Record<string, string>> | undefined): Promise<void> {
    if (natsEnv === undefined) await this.startOwnNats();
    const url = natsEnv?.KNP_NATS_URL ?? this.nats!.url;
    const connectAs = async (role: Role): Promise<NatsConnection> => {
      const problems: string[] = [];
      const settings = loadNatsSettings({ ...natsEnv, ...this.identities.get(role), KNP_NATS_URL: url }, problems);
      if (problems.length > 0) throw new ConfigError(problems);
      return connectNats(settings, role, { name: `knp-demo-${role}` });
    };
    // what `knp init` does, as the init role; then the demo reads as the operator
    const init = await connectAs('init');
    await ensureStreams(init, this.prefix, DEFAULT_STREAM_SETTINGS);
    await init.close();
    this.nc = await connectAs('operator');
    this.standin = await startStandin();
    for (const ns of this.scenario.namespaces) this.standin.create('Namespace', structuredClone(ns) as never);
    for (const pod of this.scenario.pods) this.standin.create('Pod', structuredClone(pod) as never);
    const kubeconfig = join(this.dir, 'kubeconfig');
    this.standin.writeKubeconfig(kubeconfig);
    const keys = this.writeKeys();
    this.env = {
      ...natsEnv, ...this.identities.get('operator'), KNP_NATS_URL: url, KNP_PREFIX: this.prefix, KNP_LOG_LEVEL: 'info', KNP_HEARTBEAT_S: '1',
      KNP_TRUSTED_WATCHER_KEYS: keys.watcherPub, KNP_TRUSTED_COMPILER_KEYS: keys.compilerPub,
    };
    this.cluster = await NetnsCluster.create({ nodes: this.scenario.nodes, pods: this.scenario.podSpecs });
    const logs = join(this.dir, 'logs');
    const add = (name: string, argv: string[], env: Record<string, string>): void => {
      const s = new Service(name, argv, { ...this.env, ...this.identities.get(argv[0] as Role), ...env }, logs);
      s.start();
      this.services.push(s);
    };
    add('watcher', ['watcher'], { KUBECONFIG: kubeconfig, KNP_SIGNING_KEY: keys.watcherKey });
    add('compiler-1', ['compiler'], { KNP_SIGNING_KEY: keys.compilerKey });
    add('compiler-2', ['compiler'], { KNP_SIGNING_KEY: keys.compilerKey });
    for (const node of this.scenario.nodes)
      add(`applier-${node}`, ['applier'], { KNP_NODE_NAME: node, KNP_NETNS: this.cluster.netnsOf(node), KNP_BACKEND: this.backend, KNP_STATE_DIR: join(this.dir, 'state'), KNP_RECONCILE_S: '30' });
  }

  /**
   * A private nats-server with infra/nats/nats.conf as shipped (one user per role, each allowed only what
   * it uses) and a random password per role in this run's folder; without that file (an install without
   * infra/), a server without authentication.
   */
  private async startOwnNats(): Promise<void> {
    if (!existsSync(NATS_CONF)) {
      this.log.warn({ path: NATS_CONF }, 'infra/nats/nats.conf not found: the demo NATS runs without authentication');
      this.nats = await startNatsServer();
      return;
    }
    this.prefix = 'knp'; // the config's subjects are written for it
    const passwords: Record<string, string> = {};
    for (const role of ROLES) {
      // nats-server parses a substituted variable as a config value: `1e5…` or `-…` would not be a string
      const password = `k${randomBytes(18).toString('hex')}`;
      const file = join(this.dir, `${role}.password`);
      writeFileSync(file, password, { mode: 0o600 });
      passwords[`NATS_PASSWORD_${role.toUpperCase()}`] = password;
      this.identities.set(role, { KNP_NATS_USER: role, KNP_NATS_PASSWORD_FILE: file });
    }
    this.nats = await startNatsServer(['-c', NATS_CONF], passwords);
  }

  /** One key for the watcher and one shared by both compilers (files in the run's folder). */
  private writeKeys(): { watcherKey: string; watcherPub: string; compilerKey: string; compilerPub: string } {
    const out = { watcherKey: '', watcherPub: '', compilerKey: '', compilerPub: '' };
    for (const role of ['watcher', 'compiler'] as const) {
      const pair = generateSigningKeyPair();
      const key = join(this.dir, `${role}.key`), pub = join(this.dir, `${role}.pub`);
      writeFileSync(key, pair.privatePem, { mode: 0o600 });
      writeFileSync(pub, pair.publicPem);
      out[`${role}Key`] = key;
      out[`${role}Pub`] = pub;
    }
    return out;
  }

  /** Waits until the pipeline has applied everything up to the API's resourceVersion `afterRv` (or `timeoutMs` passes). */
  async waitSynced(afterRv: string, timeoutMs = 60_000): Promise<SyncVerdict> {
    const reader = new FactsReader(this.nc!, this.prefix, rulesTrustFromEnv(this.env));
    const deadline = Date.now() + timeoutMs;
    let targetSeq: number | undefined;
    let verdict: SyncVerdict | undefined;
    for (;;) {
      const facts = await reader.read().catch(() => undefined);
      if (facts) {
        targetSeq ??= facts.events.lastSeq;
        verdict = judgeSync(facts, { targetSeq, afterRv });
        if (verdict.synced && verdict.nodes.length >= this.scenario.nodes.length) return verdict;
      }
      if (Date.now() > deadline) throw new Error(`not synced after ${timeoutMs / 1000} s: ${verdict?.waitingFor.join('; ') ?? 'no status yet'}\n${this.logTails()}`);
      await sleep(50);
    }
  }

  /** The last lines of every service's log, for a failure message. */
  logTails(): string {
    return this.services.map((s) => `--- ${s.name}\n${s.logTail(8)}`).join('\n');
  }

  /** Stops and removes everything it started; safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.services.splice(0).map((s) => s.stop().catch(() => undefined)));
    await this.nc?.close().catch(() => undefined);
    await this.cluster?.destroy().catch((err: unknown) => this.log.warn({ err }, 'removing the network namespaces failed'));
    await this.standin?.close().catch(() => undefined);
    await this.nats?.stop().catch(() => undefined);
    this.nc = this.cluster = this.standin = this.nats = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
