import type { Logger, WatchedKind } from '@knp/shared';
import {
  ApiException,
  CustomObjectsApi,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

/** Cluster-wide list paths (the watch adds bookmarks, which keep the resourceVersion fresh when nothing of a kind changes). */
const LIST_PATH: Record<WatchedKind, string> = {
  Namespace: '/api/v1/namespaces',
  Pod: '/api/v1/pods',
  NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies',
  Node: '/api/v1/nodes',
  ClusterNetworkPolicy: '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
};
const watchPath = (kind: WatchedKind): string => `${LIST_PATH[kind]}?allowWatchBookmarks=true`;

/** ClusterNetworkPolicy is a CRD (SIG Network's network-policy-api): served only where it is installed. */
const CNP_API = { group: 'policy.networking.k8s.io', version: 'v1alpha2', plural: 'clusternetworkpolicies' } as const;

export type InformerHandlers = {
  /** Called with every complete list (start, after 410 Gone), before the informer emits its callbacks. */
  readonly onList: (items: readonly KubernetesObject[], resourceVersion: string) => void;
  readonly onChange: (type: 'add' | 'update' | 'delete', object: KubernetesObject) => void;
  /** Called when discovery finds the kind not served (its CRD is not installed); discovery is retried with backoff. */
  readonly onAbsent: () => void;
};

export type KindInformer = {
  readonly kind: WatchedKind;
  /** The last resourceVersion the informer saw (lists, events and bookmarks). */
  latestResourceVersion(): string;
  stop(): Promise<void>;
};

export type RestartPolicy = { readonly restartMinMs: number; readonly restartMaxMs: number; readonly pageSize: number };

/** Items per list page (client-go's reflector uses 500). */
export const DEFAULT_LIST_PAGE_SIZE = 500;

/** One page of a list: `limit` items at most, from where `_continue` left off. */
export type ListPage = (page: { readonly limit: number; readonly _continue?: string }) => Promise<KubernetesListObject<KubernetesObject>>;

/**
 * One page of a list as the API's plain JSON, like a watch event. Not the typed client: its deserializer
 * assigns label keys onto plain objects, where a label `__proto__` vanishes (it sets the prototype), so a
 * listed object would differ from the same object watched. JSON.parse keeps such a key as data.
 */
function pageFunction(kc: KubeConfig, kind: WatchedKind): ListPage {
  const http = new IsomorphicFetchHttpLibrary();
  return async ({ limit, _continue }) => {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig names no current cluster');
    const url = new URL(server + LIST_PATH[kind]); // a server URL may carry a path prefix (an API proxy)
    url.searchParams.set('limit', String(limit));
    if (_continue !== undefined) url.searchParams.set('continue', _continue);
    const request = new RequestContext(url.toString(), HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    await kc.applySecurityAuthentication(request);
    const response = await http.send(request).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode !== 200) throw new ApiException(response.httpStatusCode, `list ${kind}: HTTP ${response.httpStatusCode}`, text.slice(0, 1_000), response.headers);
    const list = JSON.parse(text) as KubernetesListObject<KubernetesObject> & { metadata?: { continue?: string } };
    if (!Array.isArray(list.items)) throw new Error(`list ${kind}: the answer has no items`);
    // the API's JSON says `continue`; the client's informer and listAllPages read `_continue`
    return { ...list, metadata: { ...list.metadata, _continue: list.metadata?.continue || undefined } };
  };
}

/** Whether the API serves a kind: asked of the group/version's discovery for a CRD, always true for built-in kinds. */
export type Discover = () => Promise<boolean>;

function discoverFunction(kc: KubeConfig, kind: WatchedKind): Discover | undefined {
  if (kind !== 'ClusterNetworkPolicy') return undefined;
  const api = kc.makeApiClient(CustomObjectsApi);
  return async () => {
    try {
      const list = await api.getAPIResources({ group: CNP_API.group, version: CNP_API.version });
      return (list.resources ?? []).some((r) => r.name === CNP_API.plural);
    } catch (err) {
      if (statusOf(err) === 404) return false; // the group/version is not served: no CRD installed
      throw err;
    }
  };
}

/** Lists restarted from scratch after their continue token expired, before the list counts as failed. */
const MAX_LIST_RESTARTS = 3;

/**
 * A complete list read in pages of `pageSize` (limit/continue): the API serves every page from the snapshot
 * of the first, whose resourceVersion the result carries, so the watch that follows starts where the list
 * ended. A 410 Gone on a continue token (the snapshot was compacted away) means relist from scratch.
 */
export async function listAllPages(page: ListPage, pageSize: number, log: Logger, kind: WatchedKind): Promise<KubernetesListObject<KubernetesObject>> {
  for (let restart = 0; ; restart += 1) {
    const items: KubernetesObject[] = [];
    let first: KubernetesListObject<KubernetesObject> | undefined;
    let token: string | undefined;
    try {
      do {
        const result = await page({ limit: pageSize, ...(token ? { _continue: token } : {}) });
        first ??= result;
        items.push(...result.items);
        token = result.metadata?._continue || undefined;
      } while (token !== undefined);
    } catch (err) {
      if (token === undefined || statusOf(err) !== 410 || restart >= MAX_LIST_RESTARTS) throw err;
      log.warn({ kind, restart: restart + 1, items: items.length }, 'list continue token expired, listing again from scratch');
      continue;
    }
    return { ...first!, metadata: { ...first!.metadata, _continue: undefined }, items } as KubernetesListObject<KubernetesObject>;
  }
}

const statusOf = (err: unknown): unknown => (err as { code?: unknown } | undefined)?.code;

/**
 * Starts an informer for one kind with our own restart loop: the client's informer re-watches on a clean
 * end and relists on 410 Gone, but stops for good on other errors (HTTP 500, connection refused), so the
 * error callback starts it again with backoff. `stop()` fires the error callback too: the flag guards it.
 * A CRD's kind is discovered before every (re)start: not served, `onAbsent` is called and discovery retried
 * with the same backoff (a CRD removed while watched ends in a 404, an error, so the same path finds it gone).
 * Only a 404 of the discovery counts as absent: any other failure is retried without calling `onAbsent`.
 */
export function startKindInformer(kc: KubeConfig, kind: WatchedKind, handlers: InformerHandlers, policy: RestartPolicy, log: Logger): KindInformer {
  const page = pageFunction(kc, kind);
  const discover = discoverFunction(kc, kind);
  const list = () => listAllPages(page, policy.pageSize, log, kind);
  let stopped = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const informer = makeInformer<KubernetesObject>(kc, watchPath(kind), async () => {
    const result = await list();
    // the client's informer starts a watch after the list even when stopped meanwhile: failing it does not
    if (stopped) throw new Error(`${kind} informer stopped during its list`);
    handlers.onList(result.items, result.metadata?.resourceVersion ?? '');
    failures = 0;
    return result;
  });
  informer.on('add', (o) => { if (!stopped) handlers.onChange('add', o); });
  informer.on('update', (o) => { if (!stopped) handlers.onChange('update', o); });
  informer.on('delete', (o) => { if (!stopped) handlers.onChange('delete', o); });
  const retryLater = (): number => {
    const delayMs = Math.min(policy.restartMaxMs, policy.restartMinMs * 2 ** Math.min(failures, 10));
    failures += 1;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopped) void begin();
    }, delayMs);
    return delayMs;
  };
  const begin = async (): Promise<void> => {
    if (discover !== undefined) {
      let served: boolean;
      try {
        served = await discover();
      } catch (err) {
        if (!stopped && restartTimer === undefined) log.warn({ err: errorOf(err), kind, delayMs: retryLater() }, 'discovery failed, retrying');
        return;
      }
      if (stopped || restartTimer !== undefined) return;
      if (!served) {
        handlers.onAbsent();
        log.debug({ kind, delayMs: retryLater() }, 'kind not served (CRD not installed), discovering again later');
        return;
      }
    }
    await informer.start().catch((e: unknown) => log.error({ err: e, kind }, 'informer start failed'));
  };
  informer.on('error', (err) => {
    if (stopped || restartTimer !== undefined) return;
    log.warn({ err: errorOf(err), kind, delayMs: retryLater() }, 'informer stopped, restarting');
  });
  void begin();
  return {
    kind,
    latestResourceVersion: () => (informer as unknown as { latestResourceVersion(): string }).latestResourceVersion(),
    async stop() {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      await informer.stop();
    },
  };
}

/** Aborted fetches and HTTP errors carry a lot of noise: keep what helps at 3 a.m. */
function errorOf(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { statusCode?: number; code?: unknown };
  return { name: e.name, message: e.message, statusCode: e.statusCode, code: e.code };
}
