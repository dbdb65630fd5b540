/**
 * The process living in one pod (or node) namespace: TCP and UDP echo servers on its ports (80 and 81 by default) and bind
 * addresses (every IPv4 address by default; `::` adds every IPv6 address), and a probe agent on a
 * unix socket (reachable from the test process across network namespaces). Each request line is
 * `{"id", "probes": [{ip, port, protocol, timeoutMs}]}`; the answer is `{"id", "results": [bool]}`.
 * Every probe uses a fresh source port from a per-agent counter, so a conntrack entry left by an earlier
 * probe never answers for a later one. The agent exits when its stdin closes (the test process is gone).
 * Probes go to an IPv4 or IPv6 address alike.
 * Usage: node agent.js <socket path> <first source port> [ports to serve, comma-separated; default 80,81]
 *        [addresses to serve on, comma-separated; default 0.0.0.0]
 */
import { createServer, connect, isIPv6, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { unlinkSync } from 'node:fs';

export type Probe = { readonly ip: string; readonly port: number; readonly protocol: 'TCP' | 'UDP'; readonly timeoutMs: number };
export type ProbeRequest = { readonly id: number; readonly probes: readonly Probe[] };
export type ProbeResponse = { readonly id: number; readonly results: readonly boolean[] };

const [socketPath = '', firstPort = '20000', servePorts = '80,81', bindAddresses = '0.0.0.0'] = process.argv.slice(2);
const BIND_ADDRESSES = bindAddresses.split(',').filter((a) => a !== '');
const SERVE_PORTS = servePorts.split(',').map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
const PORT_MIN = 20_000, PORT_MAX = 60_000;
let nextPort = Number(firstPort);

function sourcePort(): number {
  const port = nextPort;
  nextPort = nextPort + 1 >= PORT_MAX ? PORT_MIN : nextPort + 1;
  return port;
}

function probeTcp(p: Probe, retries = 3): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: p.ip, port: p.port, localPort: sourcePort() });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), p.timeoutMs);
    socket.on('connect', () => socket.write('ping'));
    socket.on('data', () => done(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && retries > 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(probeTcp(p, retries - 1));
      } else done(false);
    });
  });
}

function probeUdp(p: Probe, retries = 3): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(p.ip) ? 'udp6' : 'udp4');
    const expected = canonical(p.ip);
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), p.timeoutMs);
    socket.on('message', (_msg, from) => {
      if (canonical(from.address) === expected && from.port === p.port) done(true);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && retries > 0 && !settled) {
        settled = true;
        clearTimeout(timer);
        socket.close();
        resolve(probeUdp(p, retries - 1));
      } else done(false);
    });
    socket.bind(sourcePort(), () => socket.send('ping', p.port, p.ip));
  });
}

/** An IPv6 address in the one spelling Node reports (`fd00::1`, never `fd00:0::1`); IPv4 as it is. */
function canonical(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** TCP and UDP echo on `port` of `host`; `::` is IPv6 only (IPv4 is served by its own `0.0.0.0` socket). */
function serveEcho(port: number, host: string): Promise<void> {
  const v6 = isIPv6(host);
  const tcp = createServer((s: Socket) => {
    s.on('error', () => undefined);
    s.on('data', (d) => s.write(d));
  });
  const udp = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  udp.on('message', (msg, from) => udp.send(msg, from.port, from.address));
  return Promise.all([
    new Promise<void>((resolve) => tcp.listen({ port, host, ipv6Only: v6 }, resolve)),
    new Promise<void>((resolve) => udp.bind(port, host, resolve)),
  ]).then(() => undefined);
}

function serveControl(): Promise<void> {
  try { unlinkSync(socketPath); } catch { /* not there yet */ }
  const server = createServer((conn) => {
    let buffer = '';
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const request = JSON.parse(line) as ProbeRequest;
        void Promise.all(request.probes.map((p) => (p.protocol === 'TCP' ? probeTcp(p) : probeUdp(p)))).then((results) => {
          conn.write(`${JSON.stringify({ id: request.id, results } satisfies ProbeResponse)}\n`);
        });
      }
    });
  });
  return new Promise((resolve) => server.listen(socketPath, resolve));
}

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
await Promise.all([...SERVE_PORTS.flatMap((port) => BIND_ADDRESSES.map((host) => serveEcho(port, host))), serveControl()]);
process.stdout.write('ready\n');
