import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsCluster } from '../src/nats-cluster.js';
import { freePort, pickRange, portTaken, spawnOnFreePort } from '../src/nats-server.js';

/**
 * The NATS fixtures when the port `freePort()` handed out is taken before the server binds it (another
 * test's listener, an outgoing connection): they start again on new ports, and leave nothing running when
 * they give up.
 */
const Fixtures = suite('nats-server fixtures on a port taken in the meantime');

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Picks `taken` first, then ports from `freePort()`. */
const takenFirst = (taken: number, times = 1) => {
  let left = times;
  return async (): Promise<number> => (left-- > 0 ? taken : freePort());
};

Fixtures('freePort picks below the ephemeral range, where no outgoing connection takes the port, and nothing listens there', async () => {
  const range = pickRange();
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  // a host whose ephemeral range leaves no room below it gets ports from the OS: nothing more to check
  if (range) for (const port of ports) assert.ok(port >= range.from && port < range.below, `${port} in [${range.from}, ${range.below})`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ports[0], '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
});

Fixtures('a single server whose port was taken starts on another', async () => {
  const { server, port } = await listening();
  const dir = mkdtempSync(join(tmpdir(), 'knp-fixture-'));
  try {
    const started = await spawnOnFreePort(dir, [], {}, takenFirst(port));
    assert.is.not(started.port, port);
    const exited = new Promise((resolve) => started.child.once('exit', resolve));
    started.child.kill('SIGKILL');
    await exited;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Fixtures('a single server gives up after its attempts with the log naming the taken port', async () => {
  const { server, port } = await listening();
  const dir = mkdtempSync(join(tmpdir(), 'knp-fixture-'));
  try {
    const err = await spawnOnFreePort(dir, [], {}, takenFirst(port, 3)).then(() => undefined, (e: unknown) => e);
    assert.ok(portTaken(err), String(err));
    assert.match((err as Error).message, String(port));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Fixtures('a cluster with one member port taken starts again on new ports, all three up', async () => {
  const { server, port } = await listening();
  try {
    // the third port picked is the second server's client port
    let n = 0;
    const cluster = await NatsCluster.start(3, async () => (++n === 3 ? port : freePort()));
    try {
      assert.not.ok(cluster.clientPorts.includes(port));
      assert.equal([0, 1, 2].map((i) => cluster.running(i)), [true, true, true]);
    } finally {
      await cluster.destroy();
    }
  } finally {
    server.close();
  }
});

Fixtures('a cluster that cannot start leaves no server running', async () => {
  const { server, port } = await listening();
  const before = natsServerPids();
  try {
    let n = 0;
    const err = await NatsCluster.start(3, async () => (++n % 6 === 3 ? port : freePort())).then(() => undefined, (e: unknown) => e);
    assert.ok(portTaken(err), String(err));
    assert.ok(before.length === 0 && n >= 18, `three attempts of six ports each (${n} picked)`);
    assert.equal(natsServerPids().filter((pid) => !before.includes(pid)), [], 'servers left running');
  } finally {
    server.close();
  }
});

/** Pids of the nats-server processes that are this test's children. */
function natsServerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === 'nats-server').map(([pid]) => Number(pid));
}

Fixtures.run();
