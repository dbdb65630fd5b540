import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LeaseStore, leaseRouteOf, readJsonBody, type Lease } from './leases.js';

/**
 * A Kubernetes API stand-in for Pods, Namespaces, NetworkPolicies, Nodes and ClusterNetworkPolicies
 * (policy.networking.k8s.io/v1alpha2, a CRD: served, with its group/version discovery, only while
 * installed, see `setCrdInstalled`): list and watch (cluster-wide and namespaced paths), resourceVersion,
 * bookmarks when asked, 410 Gone for a resourceVersion older than the bounded history, watch headers
 * flushed at once, lists paged by limit/continue from a snapshot (410 Gone once `expireHistory()` dropped it). Objects change through the in-process API only. Leases
 * (coordination.k8s.io/v1) are served for leader election: get, list, create, replace (see leases.ts).
 */
export type StandinKind = 'Pod' | 'Namespace' | 'NetworkPolicy' | 'Node' | 'ClusterNetworkPolicy';
export type K8sObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; creationTimestamp?: string; [k: string]: unknown };
  spec?: any;
  status?: any;
};
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type Change = { readonly rv: number; readonly type: WatchEventType; readonly kind: StandinKind; readonly object: K8sObject };

export type StandinOptions = {
  readonly port?: number;
  readonly host?: string;
  /** Events kept for watches resuming from an older resourceVersion; older ones get 410 Gone. */
  readonly historyLimit?: number;
  /**
   * Bookmark period for watches that asked for bookmarks (default 250 ms: a real API server sends them
   * about once a minute, which `knp wait --after-rv` would wait for on a kind that does not change); 0
   * sends them only on `bookmark()`.
   */
  readonly bookmarkIntervalMs?: number;
  /** Whether the ClusterNetworkPolicy CRD is installed at start (default true); absent: 404 for its group/version. */
  readonly clusterNetworkPolicyCrd?: boolean;
};

export type Standin = {
  readonly url: string;
  readonly port: number;
  create(kind: StandinKind, object: K8sObject): K8sObject;
  /** Replaces the object (matched by namespace/name), or applies `mutate` to a copy of the stored one. */
  update(kind: StandinKind, object: K8sObject | { namespace?: string; name: string }, mutate?: (o: K8sObject) => void): K8sObject;
  delete(kind: StandinKind, namespace: string | undefined, name: string): K8sObject;
  get(kind: StandinKind, namespace: string | undefined, name: string): K8sObject | undefined;
  list(kind: StandinKind): K8sObject[];
  resourceVersion(): string;
  /** A Lease as stored (written by clients over HTTP), and how many lease writes succeeded or got 409. */
  lease(namespace: string, name: string): Lease | undefined;
  readonly leaseStats: { readonly writes: number; readonly conflicts: number };
  /** Every change made, in order (for tests comparing what reached the stream). */
  readonly changes: readonly Change[];
  /** Requests served so far: lists (each page counts), watches and 410 Gone answers. */
  readonly stats: { lists: number; watches: number; gone: number };
  /** Watches currently open. */
  openWatches(): number;
  /** Sends a bookmark on every watch that asked for them. */
  bookmark(): void;
  /** Ends every open watch (as an API server does at its timeout); clients re-watch. */
  closeWatches(): void;
  /** Ends open watches and holds new watch requests until `resumeWatches()`. */
  suspendWatches(): void;
  resumeWatches(): void;
  /** Forgets the event history and list snapshots: a watch resuming from an older resourceVersion, or a continue token, gets 410 Gone. */
  expireHistory(): void;
  /**
   * Installs or removes the ClusterNetworkPolicy CRD. Removing it deletes every ClusterNetworkPolicy (as
   * the API server does with a CRD's objects), then ends their watches; from then on its group/version,
   * lists and watches get 404 until it is installed again.
   */
  setCrdInstalled(installed: boolean): void;
  /** Answers the next `n` requests other than Leases with HTTP 500 (Lease requests are not counted). */
  failNext(n: number): void;
  kubeconfig(): string;
  writeKubeconfig(path: string): void;
  close(): Promise<void>;
};

const KINDS: Record<StandinKind, { apiVersion: string; list: string; namespaced: boolean }> = {
  Namespace: { apiVersion: 'v1', list: 'NamespaceList', namespaced: false },
  Pod: { apiVersion: 'v1', list: 'PodList', namespaced: true },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', list: 'NetworkPolicyList', namespaced: true },
  Node: { apiVersion: 'v1', list: 'NodeList', namespaced: false },
  ClusterNetworkPolicy: { apiVersion: 'policy.networking.k8s.io/v1alpha2', list: 'ClusterNetworkPolicyList', namespaced: false },
};

const CNP_GROUP_VERSION = ['apis', 'policy.networking.k8s.io', 'v1alpha2'];

type Route = { kind: StandinKind; namespace?: string; name?: string };

/** Whether a request path is the ClusterNetworkPolicy group/version (discovery) or below it. */
const isCnpPath = (pathname: string): boolean => CNP_GROUP_VERSION.every((part, i) => pathname.split('/')[i + 1] === part);

/** Maps a request path to a kind (and namespace / name); undefined for anything else. */
export function routeOf(pathname: string): Route | undefined {
  const p = pathname.replace(/\/+$/, '').split('/').slice(1);
  if (isCnpPath(pathname) && p[3] === 'clusternetworkpolicies' && p.length <= 5) return { kind: 'ClusterNetworkPolicy', ...(p[4] ? { name: p[4] } : {}) };
  const core = p[0] === 'api' && p[1] === 'v1';
  const net = p[0] === 'apis' && p[1] === 'networking.k8s.io' && p[2] === 'v1';
  const rest = core ? p.slice(2) : net ? p.slice(3) : undefined;
  if (rest === undefined) return undefined;
  const plural = core ? 'pods' : 'networkpolicies';
  const kind: StandinKind = core ? 'Pod' : 'NetworkPolicy';
  if (core && rest[0] === 'namespaces' && rest.length <= 2) return { kind: 'Namespace', ...(rest[1] ? { name: rest[1] } : {}) };
  if (core && rest[0] === 'nodes' && rest.length <= 2) return { kind: 'Node', ...(rest[1] ? { name: rest[1] } : {}) };
  if (rest.length === 1 && rest[0] === plural) return { kind };
  if (rest[0] === 'namespaces' && rest[1] && rest[2] === plural && rest.length <= 4)
    return { kind, namespace: rest[1], ...(rest[3] ? { name: rest[3] } : {}) };
  return undefined;
}

/** What GET /apis/policy.networking.k8s.io/v1alpha2 answers while the CRD is installed. */
const CNP_DISCOVERY = {
  kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'policy.networking.k8s.io/v1alpha2',
  resources: [{ name: 'clusternetworkpolicies', singularName: 'clusternetworkpolicy', namespaced: false, kind: 'ClusterNetworkPolicy', verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'], shortNames: ['cnp'] }],
};

type Watcher = { route: Route; res: ServerResponse; bookmarks: boolean };

/** Starts the stand-in on `port` (0 = a free one) on 127.0.0.1. */
export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const historyLimit = options.historyLimit ?? 10_000;
  const store = new Map<StandinKind, Map<string, K8sObject>>(Object.keys(KINDS).map((k) => [k as StandinKind, new Map()]));
  const history: Change[] = [];
  const changes: Change[] = [];
  const watchers = new Set<Watcher>();
  const held: Array<() => void> = [];
  let rv = 1;
  let floor = 1; // history holds every change with rv > floor
  let suspended = false;
  let failures = 0;
  let crdInstalled = options.clusterNetworkPolicyCrd ?? true;
  const stats = { lists: 0, watches: 0, gone: 0 };
  const leases = new LeaseStore();
  /** The rest of a paged list, by continue token: the items of the first page's snapshot not yet served. */
  const snapshots = new Map<string, { rv: string; items: K8sObject[] }>();

  const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;
  const clone = <T>(v: T): T => structuredClone(v);
  const matches = (route: Route, kind: StandinKind, o: K8sObject): boolean =>
    route.kind === kind && (route.namespace === undefined || o.metadata.namespace === route.namespace) && (route.name === undefined || o.metadata.name === route.name);

  const send = (w: Watcher, event: unknown): void => {
    w.res.write(`${JSON.stringify(event)}\n`);
  };
  const record = (type: WatchEventType, kind: StandinKind, object: K8sObject): void => {
    const change: Change = { rv, type, kind, object: clone(object) };
    changes.push(change);
    history.push(change);
    while (history.length > historyLimit) floor = history.shift()!.rv;
    for (const w of watchers) if (matches(w.route, kind, object)) send(w, { type, object });
  };
  const normalize = (kind: StandinKind, object: K8sObject): K8sObject => {
    const o = clone(object);
    o.apiVersion = KINDS[kind].apiVersion;
    o.kind = kind;
    if (KINDS[kind].namespaced) o.metadata.namespace ??= 'default';
    else delete o.metadata.namespace;
    return o;
  };

  const api = {
    create(kind: StandinKind, object: K8sObject): K8sObject {
      if (kind === 'ClusterNetworkPolicy' && !crdInstalled) throw new Error('ClusterNetworkPolicy: the CRD is not installed');
      const o = normalize(kind, object);
      const table = store.get(kind)!;
      const key = keyOf(o.metadata.namespace, o.metadata.name);
      if (table.has(key)) throw new Error(`${kind} ${key} already exists`);
      rv += 1;
      o.metadata.uid ??= randomUUID();
      o.metadata.resourceVersion = String(rv);
      o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      table.set(key, o);
      record('ADDED', kind, o);
      return clone(o);
    },
    update(kind: StandinKind, object: K8sObject | { namespace?: string; name: string }, mutate?: (o: K8sObject) => void): K8sObject {
      const ref = 'metadata' in object ? { namespace: object.metadata.namespace, name: object.metadata.name } : object;
      const namespace = KINDS[kind].namespaced ? (ref.namespace ?? 'default') : undefined;
      const table = store.get(kind)!;
      const current = table.get(keyOf(namespace, ref.name));
      if (current === undefined) throw new Error(`${kind} ${keyOf(namespace, ref.name)} not found`);
      const next = normalize(kind, 'metadata' in object && !mutate ? object : current);
      mutate?.(next);
      rv += 1;
      next.metadata = { ...next.metadata, uid: current.metadata.uid!, resourceVersion: String(rv), creationTimestamp: current.metadata.creationTimestamp! };
      table.set(keyOf(namespace, ref.name), next);
      record('MODIFIED', kind, next);
      return clone(next);
    },
    delete(kind: StandinKind, namespace: string | undefined, name: string): K8sObject {
      const ns = KINDS[kind].namespaced ? (namespace ?? 'default') : undefined;
      const table = store.get(kind)!;
      const current = table.get(keyOf(ns, name));
      if (current === undefined) throw new Error(`${kind} ${keyOf(ns, name)} not found`);
      table.delete(keyOf(ns, name));
      rv += 1;
      const gone = { ...current, metadata: { ...current.metadata, resourceVersion: String(rv) } };
      record('DELETED', kind, gone);
      return clone(gone);
    },
    get: (kind: StandinKind, namespace: string | undefined, name: string): K8sObject | undefined => {
      const o = store.get(kind)!.get(keyOf(KINDS[kind].namespaced ? (namespace ?? 'default') : undefined, name));
      return o && clone(o);
    },
    list: (kind: StandinKind): K8sObject[] => [...store.get(kind)!.values()].map(clone),
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const statusBody = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

  const serveWatch = (route: Route, query: URLSearchParams, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // the client waits for headers before reading events
    const w: Watcher = { route, res, bookmarks: query.get('allowWatchBookmarks') === 'true' };
    stats.watches += 1;
    const from = query.get('resourceVersion') ?? '';
    if (from !== '' && from !== '0' && (!/^\d+$/.test(from) || Number(from) < floor)) {
      // what an API server sends when the resourceVersion was compacted away
      stats.gone += 1;
      send(w, { type: 'ERROR', object: statusBody(410, 'Expired', `too old resource version: ${from} (${floor})`) });
      res.end();
      return;
    }
    if (from === '' || from === '0') {
      for (const o of store.get(route.kind)!.values()) if (matches(route, route.kind, o)) send(w, { type: 'ADDED', object: o });
    } else {
      for (const c of history) if (c.rv > Number(from) && matches(route, c.kind, c.object)) send(w, { type: c.type, object: c.object });
    }
    watchers.add(w);
    res.on('close', () => watchers.delete(w));
  };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://standin');
    // Leases first: injected failures are meant for the informers' lists and watches
    const leaseRoute = leaseRouteOf(url.pathname);
    if (leaseRoute !== undefined) {
      const method = req.method ?? 'GET';
      const body = method === 'GET' ? Promise.resolve(undefined) : readJsonBody(req);
      void body.then((b) => {
        const answer = leases.answer(method, leaseRoute, b);
        json(res, answer.status, answer.body);
      });
      return;
    }
    if (failures > 0) {
      failures -= 1;
      return json(res, 500, statusBody(500, 'InternalError', 'stand-in told to fail'));
    }
    if (isCnpPath(url.pathname) && !crdInstalled) return json(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
    if (req.method === 'GET' && url.pathname.replace(/\/+$/, '') === `/${CNP_GROUP_VERSION.join('/')}`) return json(res, 200, CNP_DISCOVERY);
    const route = req.method === 'GET' ? routeOf(url.pathname) : undefined;
    if (route === undefined) return json(res, 404, statusBody(404, 'NotFound', `${req.method} ${url.pathname} not served`));
    const watch = url.searchParams.get('watch');
    if (watch === 'true' || watch === '1') {
      if (suspended) held.push(() => serveWatch(route, url.searchParams, res));
      else serveWatch(route, url.searchParams, res);
      return;
    }
    if (route.name !== undefined) {
      const o = [...store.get(route.kind)!.values()].find((x) => matches(route, route.kind, x));
      return o ? json(res, 200, o) : json(res, 404, statusBody(404, 'NotFound', `${route.kind} ${route.name} not found`));
    }
    stats.lists += 1;
    const token = url.searchParams.get('continue') ?? '';
    const snapshot = token === '' ? { rv: String(rv), items: [...store.get(route.kind)!.values()].filter((o) => matches(route, route.kind, o)) } : snapshots.get(token);
    if (snapshot === undefined) {
      stats.gone += 1;
      return json(res, 410, statusBody(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
    }
    snapshots.delete(token);
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const paged = Number.isInteger(limit) && limit > 0 && snapshot.items.length > limit;
    const items = paged ? snapshot.items.slice(0, limit) : snapshot.items;
    const metadata: Record<string, unknown> = { resourceVersion: snapshot.rv };
    if (paged) {
      const next = randomUUID();
      snapshots.set(next, { rv: snapshot.rv, items: snapshot.items.slice(limit) });
      Object.assign(metadata, { continue: next, remainingItemCount: snapshot.items.length - limit });
    }
    json(res, 200, { apiVersion: KINDS[route.kind].apiVersion, kind: KINDS[route.kind].list, metadata, items });
  };

  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  const bookmark = (): void => {
    for (const w of watchers)
      if (w.bookmarks) send(w, { type: 'BOOKMARK', object: { apiVersion: KINDS[w.route.kind].apiVersion, kind: w.route.kind, metadata: { resourceVersion: String(rv) } } });
  };
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 250;
  const bookmarkTimer = bookmarkIntervalMs > 0 ? setInterval(bookmark, bookmarkIntervalMs) : undefined;
  bookmarkTimer?.unref();

  const kubeconfig = (): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'standin', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'standin', user: { token: 'standin' } }],
      contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'standin' } }],
      'current-context': 'standin',
    }, null, 2);

  const endWatches = (): void => {
    for (const w of [...watchers]) w.res.end();
    watchers.clear();
  };

  return {
    url,
    port,
    ...api,
    resourceVersion: () => String(rv),
    lease: (namespace: string, name: string) => leases.get(namespace, name),
    leaseStats: leases.stats,
    changes,
    stats,
    openWatches: () => watchers.size,
    bookmark,
    closeWatches: endWatches,
    suspendWatches() {
      suspended = true;
      endWatches();
    },
    resumeWatches() {
      suspended = false;
      for (const h of held.splice(0)) h();
    },
    expireHistory() {
      history.length = 0;
      snapshots.clear();
      floor = rv;
    },
    setCrdInstalled(installed: boolean) {
      if (installed === crdInstalled) return;
      if (!installed) {
        for (const o of api.list('ClusterNetworkPolicy')) api.delete('ClusterNetworkPolicy', undefined, o.metadata.name);
        for (const w of [...watchers]) if (w.route.kind === 'ClusterNetworkPolicy') { w.res.end(); watchers.delete(w); }
      }
      crdInstalled = installed;
    },
    failNext(n: number) {
      failures = n;
    },
    kubeconfig,
    writeKubeconfig: (path: string) => writeFileSync(path, kubeconfig()),
    async close() {
      if (bookmarkTimer) clearInterval(bookmarkTimer);
      for (const h of held.splice(0)) h();
      endWatches();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
