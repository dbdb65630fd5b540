import type { IncomingMessage } from 'node:http';

/**
 * The stand-in's Leases (coordination.k8s.io/v1): get, list, create and replace, namespaced, with the API's
 * optimistic concurrency: a create of an existing Lease is 409 AlreadyExists, a replace whose
 * metadata.resourceVersion is not the stored one is 409 Conflict (none given: unconditional, as the API
 * allows). Leases count their resourceVersions on their own sequence, so lease renewals do not move the
 * resourceVersion the Pod/Namespace/NetworkPolicy tests wait for (a real API shares one counter; the values
 * are opaque to clients either way).
 */
export type Lease = {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; creationTimestamp: string; [k: string]: unknown };
  spec: Record<string, unknown>;
};

export type LeaseRoute = { readonly namespace: string; readonly name?: string };

export type LeaseAnswer = { readonly status: number; readonly body: unknown };

const PREFIX = ['apis', 'coordination.k8s.io', 'v1', 'namespaces'];

/** `/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]`, else undefined. */
export function leaseRouteOf(pathname: string): LeaseRoute | undefined {
  const p = pathname.replace(/\/+$/, '').split('/').slice(1);
  if (p.length < 6 || p.length > 7 || PREFIX.some((s, i) => p[i] !== s) || p[5] !== 'leases' || !p[4]) return undefined;
  return { namespace: p[4], ...(p[6] ? { name: p[6] } : {}) };
}

const status = (code: number, reason: string, message: string): LeaseAnswer => ({
  status: code,
  body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
});

export class LeaseStore {
  private readonly leases = new Map<string, Lease>();
  private rv = 0;
  /** Writes that succeeded, and those refused with 409. */
  readonly stats = { writes: 0, conflicts: 0 };

  get(namespace: string, name: string): Lease | undefined {
    const lease = this.leases.get(`${namespace}/${name}`);
    return lease && structuredClone(lease);
  }

  /** Answers one request on a lease route; `body` is the parsed request body (POST, PUT). */
  answer(method: string, route: LeaseRoute, body: unknown): LeaseAnswer {
    if (method === 'GET' && route.name === undefined) {
      const items = [...this.leases.values()].filter((l) => l.metadata.namespace === route.namespace);
      return { status: 200, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'LeaseList', metadata: { resourceVersion: String(this.rv) }, items } };
    }
    if (method === 'GET') {
      const lease = this.leases.get(`${route.namespace}/${route.name}`);
      return lease ? { status: 200, body: lease } : status(404, 'NotFound', `leases.coordination.k8s.io "${route.name}" not found`);
    }
    if (method !== 'POST' && method !== 'PUT') return status(405, 'MethodNotAllowed', `${method} is not served on leases`);
    const meta = (body as { metadata?: { name?: unknown; resourceVersion?: unknown } } | undefined)?.metadata;
    const spec = (body as { spec?: unknown } | undefined)?.spec;
    if (typeof meta?.name !== 'string' || (spec !== undefined && (typeof spec !== 'object' || spec === null || Array.isArray(spec))))
      return status(400, 'BadRequest', 'a Lease needs metadata.name and an object spec');
    const name = meta.name;
    if (method === 'PUT' && name !== route.name) return status(400, 'BadRequest', `metadata.name ${name} does not match the path`);
    if (method === 'POST' && route.name !== undefined) return status(405, 'MethodNotAllowed', 'POST goes to the collection');
    const key = `${route.namespace}/${name}`;
    const current = this.leases.get(key);
    if (method === 'POST' && current) return this.conflict(409, 'AlreadyExists', `leases.coordination.k8s.io "${name}" already exists`);
    if (method === 'PUT' && !current) return status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
    if (method === 'PUT' && meta.resourceVersion !== undefined && meta.resourceVersion !== current!.metadata.resourceVersion)
      return this.conflict(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    this.rv += 1;
    this.stats.writes += 1;
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: route.namespace,
        resourceVersion: String(this.rv),
        uid: current?.metadata.uid ?? `lease-${this.rv}`,
        creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      spec: structuredClone((spec ?? {}) as Record<string, unknown>),
    };
    this.leases.set(key, lease);
    return { status: method === 'POST' ? 201 : 200, body: lease };
  }

  private conflict(code: number, reason: string, message: string): LeaseAnswer {
    this.stats.conflicts += 1;
    return status(code, reason, message);
  }
}

/** The request body as JSON (at most 1 MiB); undefined when it is not JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
