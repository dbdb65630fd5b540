import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNatsServer, spawnOnFreePort } from './nats-server.js';
import type { K8sObject, Standin, StandinKind } from './standin/standin.js';

/**
 * The end-to-end harness: a nats-server that can be stopped and started again on the same port and store,
 * `bin/knp` services as child processes with their logs in files, and one-shot `bin/knp` commands.
 * Everything started here is stopped by `stop()` / `kill()`, and by an exit handler if the test dies.
 */

export const KNP = fileURLToPath(new URL('../../../../bin/knp', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A JetStream server on a fixed port and store directory, so a restart keeps every stream and consumer. */
export class RestartableNats {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number, readonly storeDir: string) {}

  static async start(): Promise<RestartableNats> {
    const storeDir = mkdtempSync(join(tmpdir(), 'knp-e2e-nats-'));
    const { port, child } = await spawnOnFreePort(storeDir);
    const nats = new RestartableNats(port, storeDir);
    nats.adopt(child);
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.adopt(await spawnNatsServer(this.port, this.storeDir));
  }

  private adopt(child: ChildProcess): void {
    live.add(child);
    this.child = child;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    live.delete(child);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** A `bin/knp <command>` service; its stdout and stderr (pino JSON lines) go to `<logDir>/<name>.log`. */
export class Service {
  private child: ChildProcess | undefined;
  private starts = 0;
  constructor(readonly name: string, private readonly argv: readonly string[], private env: Record<string, string>, private readonly logDir: string) {}

  get logPath(): string {
    return join(this.logDir, `${this.name}.log`);
  }

  start(extraEnv: Record<string, string> = {}): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.env = { ...this.env, ...extraEnv };
    mkdirSync(this.logDir, { recursive: true });
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`--- start ${++this.starts} ---\n`);
    const child = spawn(KNP, [...this.argv], { env: { PATH: process.env.PATH ?? '', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.child = child;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM and wait (the service shuts down cleanly). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL and wait: no shutdown code runs. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** The last `n` lines of its log, as written (for a failure message). */
  logTail(n: number): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** The log lines (pino JSON) written so far, parsed; other lines are skipped. */
  logLines(): Record<string, unknown>[] {
    let text = '';
    try {
      text = readFileSync(this.logPath, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export type Run = { readonly code: number | null; readonly stdout: string; readonly stderr: string };

/** Runs `bin/knp ...argv` to completion. */
export function knp(argv: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(KNP, [...argv], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => {
      live.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** `knp status --json`, parsed (the caller names the report's type; @knp/cli exports it). */
export async function knpStatus<T>(env: Record<string, string>): Promise<T> {
  const run = await knp(['status', '--json'], env);
  if (run.code !== 0) throw new Error(`knp status exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** `bin/knp init` with `env`: the streams the services wait for; throws with its stderr when it fails. */
export async function knpInit(env: Record<string, string>): Promise<void> {
  const run = await knp(['init'], env);
  if (run.code !== 0) throw new Error(`knp init failed (${run.code}): ${run.stderr}`);
}

/** `knp wait --synced --after-rv RV`; throws with the judged status when it does not exit 0. */
export async function waitSynced(env: Record<string, string>, afterRv: string, timeoutS = 30): Promise<Record<string, unknown>> {
  const run = await knp(['wait', '--synced', '--after-rv', afterRv, '--timeout', String(timeoutS)], env);
  if (run.code !== 0) throw new Error(`knp wait --synced --after-rv ${afterRv} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

type Desired = { kind: StandinKind; object: K8sObject };
const KIND_ORDER: readonly StandinKind[] = ['Namespace', 'Node', 'Pod', 'NetworkPolicy', 'ClusterNetworkPolicy'];
const keyOf = (o: K8sObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const content = (o: K8sObject): string => JSON.stringify({ labels: o.metadata.labels ?? {}, spec: o.spec ?? null, status: o.status ?? null });

/**
 * Makes the stand-in hold exactly `objects` (by kind and namespace/name): creates, updates what differs,
 * deletes the rest (policies before pods before nodes before namespaces). Returns the resourceVersion after the last
 * write, or the current one when nothing changed.
 */
export function syncApi(standin: Standin, objects: readonly { kind: string; metadata: { name: string; namespace?: string } }[]): string {
  const desired: Desired[] = objects.map((o) => ({ kind: o.kind as StandinKind, object: structuredClone(o) as unknown as K8sObject }));
  for (const kind of KIND_ORDER) {
    const current = new Map(standin.list(kind).map((o) => [keyOf(o), o]));
    for (const { object } of desired.filter((d) => d.kind === kind)) {
      const existing = current.get(keyOf(object));
      if (!existing) standin.create(kind, object);
      else if (content(existing) !== content(object)) standin.update(kind, object);
    }
  }
  for (const kind of [...KIND_ORDER].reverse()) {
    const wanted = new Set(desired.filter((d) => d.kind === kind).map((d) => keyOf(d.object)));
    for (const o of standin.list(kind)) if (!wanted.has(keyOf(o))) standin.delete(kind, o.metadata.namespace, o.metadata.name);
  }
  return standin.resourceVersion();
}
