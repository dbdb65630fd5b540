import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private JetStream nats-server for one test file: free port, temp store, removed by `stop()`. */
export type NatsServer = { readonly url: string; readonly port: number; readonly storeDir: string; stop(): Promise<void> };

/**
 * The first port of the kernel's ephemeral range (`ip_local_port_range`), where it picks the port of every
 * outgoing connection and of a listen on port 0; 32768, the default, when it cannot be read.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux, or no /proc: the default
  }
  return 32768;
}

/**
 * The ports `freePort` picks from, [from, below): under the ephemeral range, and under Kubernetes' NodePort
 * range (30000-32767), which kube-proxy may redirect on a host running it. Undefined when fewer than 1,000.
 */
export function pickRange(): { readonly from: number; readonly below: number } | undefined {
  const from = 10_000, below = Math.min(ephemeralLow(), 30_000);
  return below - from >= 1_000 ? { from, below } : undefined;
}

/** Whether nothing listens on 127.0.0.1:`port` (listening on it and closing again); `port` 0 answers the port the OS gave. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A port nobody listens on right now, for a server a test starts later. Picked at random from `pickRange()`,
 * below the ephemeral range, so no outgoing connection (another lane's client, a probe) can take it before
 * the server binds it; only another pick could, and `spawnOnFreePort` and `NatsCluster.start` retry then.
 * From the ephemeral range (port 0) when there is no such range.
 */
export async function freePort(): Promise<number> {
  const range = pickRange();
  for (let attempt = 0; range && attempt < 50; attempt++) {
    const port = await tryListen(range.from + Math.floor(Math.random() * (range.below - range.from)));
    if (port !== undefined) return port;
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/**
 * Spawns `nats-server -js` on 127.0.0.1:`port` with its store in `storeDir` (flags win over a `-c` file in
 * `extraArgs`; `env` adds variables its config reads as `$VAR`); resolves once it logs that it is ready.
 */
export async function spawnNatsServer(port: number, storeDir: string, extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<ChildProcess> {
  const child: ChildProcess = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  await serverReady(child, 'nats-server');
  return child;
}

/** Resolves once the spawned `nats-server` logs that it is ready; rejects with its log if it exits first. */
export function serverReady(child: ChildProcess, name: string): Promise<void> {
  let log = '';
  return new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume(); // keep draining so the server never blocks on a full pipe
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${log}`)));
    child.once('error', reject);
  });
}

/** Whether a server failed to start because its port was taken between `freePort()` and its bind. */
export function portTaken(err: unknown): boolean {
  return err instanceof Error && /address already in use/i.test(err.message);
}

/**
 * Spawns a server on a port from `freePort()`, again on a new port when that one was taken in the
 * meantime (another test's pick can take it before the server binds).
 */
export async function spawnOnFreePort(
  storeDir: string, extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}, pickPort: () => Promise<number> = freePort, attempts = 3,
): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await pickPort();
    try {
      return { port, child: await spawnNatsServer(port, storeDir, extraArgs, env) };
    } catch (err) {
      if (attempt >= attempts || !portTaken(err)) throw err;
    }
  }
}

/** Starts a private server on a free port with a temp store; `stop()` removes both. */
export async function startNatsServer(extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'knp-nats-'));
  const { port, child } = await spawnOnFreePort(storeDir, extraArgs, env);
  let stopped = false;
  // a test process that dies without running `after` (uncaught error, closed stdout) must not leak the server
  const onExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
