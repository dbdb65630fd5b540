import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What a service says about itself: ready to do its job, and if not, why (shown on /readyz). */
export type Readiness = { readonly ready: boolean; readonly reason: string };

export type OpsEndpoints = {
  /** Readiness: the watcher once its first lists are published, a compiler once caught up, an applier once its newest rule set is in force. */
  readonly readiness: () => Readiness;
  /** Liveness beyond "the process answers": false when the service is wedged (e.g. a stuck loop). */
  readonly alive?: () => boolean;
  readonly registry: Registry;
};

export type OpsServer = { readonly port: number; close(): Promise<void> };

/**
 * The operator endpoints every service serves on KNP_HTTP_PORT: /healthz (200 while alive), /readyz (200
 * when ready, 503 with the reason otherwise) and /metrics (Prometheus text). Bound to `host` (all
 * interfaces by default, so a kubelet probe and a Prometheus scrape reach it). GET and HEAD only.
 */
export async function startOpsServer(port: number, endpoints: OpsEndpoints, host = '0.0.0.0'): Promise<OpsServer> {
  const server: Server = createServer((req, res) => void serve(req, res, endpoints));
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, endpoints: OpsEndpoints): Promise<void> {
  const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'GET or HEAD\n');
  const path = (req.url ?? '/').split('?')[0];
  try {
    switch (path) {
      case '/healthz':
        return endpoints.alive?.() === false ? text(503, 'not alive\n') : text(200, 'ok\n');
      case '/readyz': {
        const r = endpoints.readiness();
        return text(r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
      }
      case '/metrics':
        return text(200, await endpoints.registry.metrics(), endpoints.registry.contentType);
      default:
        return text(404, 'not found: /healthz, /readyz, /metrics\n');
    }
  } catch (err) {
    text(500, `error: ${(err as Error).message}\n`);
  }
}
