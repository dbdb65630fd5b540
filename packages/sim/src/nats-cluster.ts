import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portTaken, serverReady } from './nats-server.js';

/**
 * A three-server JetStream cluster on loopback, each server with its own config file, client port, route
 * port and store, for tests that kill and restart servers one at a time (a quorum of two stays up). A
 * restarted server keeps its port and store, so it rejoins as the same member.
 */
export class NatsCluster {
  private readonly children: (ChildProcess | undefined)[];

  private constructor(
    readonly dir: string,
    readonly clientPorts: readonly number[],
    private readonly configs: readonly string[],
  ) {
    this.children = configs.map(() => undefined);
  }

  /**
   * Starts `size` servers on ports from `freePort()`. A port is free when picked but may be taken before
   * the server binds it (by another test's pick; never by an outgoing connection), so a start that fails
   * on a taken port kills the servers already up and tries again on new ports; any other failure is thrown
   * with the server's log, and nothing is left running either way.
   */
  static async start(size = 3, pickPort: () => Promise<number> = freePort, attempts = 3): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt += 1) {
      const cluster = await NatsCluster.configure(size, pickPort);
      try {
        await Promise.all(cluster.configs.map((_, i) => cluster.startServer(i)));
        return cluster;
      } catch (err) {
        await cluster.destroy();
        if (attempt >= attempts || !portTaken(err)) throw err;
      }
    }
  }

  private static async configure(size: number, pickPort: () => Promise<number>): Promise<NatsCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'knp-nats-cluster-'));
    const clientPorts: number[] = [], routePorts: number[] = [];
    for (let i = 0; i < size; i += 1) {
      clientPorts.push(await pickPort());
      routePorts.push(await pickPort());
    }
    const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
    const configs = clientPorts.map((port, i) => {
      const path = join(dir, `n${i + 1}.conf`);
      mkdirSync(join(dir, `n${i + 1}`));
      writeFileSync(path, [
        `server_name: n${i + 1}`,
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: "${join(dir, `n${i + 1}`)}", max_memory_store: 256MB, max_file_store: 1GB }`,
        `cluster { name: knp-test, listen: 127.0.0.1:${routePorts[i]}, routes: [ ${routes} ] }`,
        '',
      ].join('\n'));
      return path;
    });
    const cluster = new NatsCluster(dir, clientPorts, configs);
    process.once('exit', () => cluster.children.forEach((c) => c?.kill('SIGKILL')));
    return cluster;
  }

  /** Every server's client URL, comma-separated (what KNP_NATS_URL takes). */
  get url(): string {
    return this.clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  }

  /** `n1`, `n2`, ...: the server names JetStream reports as stream leaders and replicas. */
  nameOf(index: number): string {
    return `n${index + 1}`;
  }

  indexOf(name: string): number {
    const i = Number(/^n(\d+)$/.exec(name)?.[1]) - 1;
    if (!(i >= 0 && i < this.configs.length)) throw new Error(`no server named ${name}`);
    return i;
  }

  running(index: number): boolean {
    const c = this.children[index];
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts server `index` (again) and resolves once it accepts clients. */
  async startServer(index: number): Promise<void> {
    if (this.running(index)) throw new Error(`${this.nameOf(index)} is already running`);
    const child = spawn('nats-server', ['-c', this.configs[index]!], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.children[index] = child;
    await serverReady(child, this.nameOf(index));
  }

  /** kill -9: no shutdown, no goodbye to the other members. */
  async kill(index: number): Promise<void> {
    const child = this.children[index];
    if (!child || !this.running(index)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.children.map((_, i) => this.kill(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
