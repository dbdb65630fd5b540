import type { Logger, ObjectKind } from '@knp/shared';
import {
  CoreV1Api,
  NetworkingV1Api,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

/** Cluster-wide watch paths; bookmarks keep the resourceVersion fresh when nothing of a kind changes. */
const WATCH_PATH: Record<ObjectKind, string> = {
  Namespace: '/api/v1/namespaces?allowWatchBookmarks=true',
  Pod: '/api/v1/pods?allowWatchBookmarks=true',
  NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies?allowWatchBookmarks=true',
};

export type InformerHandlers = {
  /** Called with every complete list (start, after 410 Gone), before the informer emits its callbacks. */
  readonly onList: (items: readonly KubernetesObject[], resourceVersion: string) => void;
  readonly onChange: (type: 'add' | 'update' | 'delete', object: KubernetesObject) => void;
};

export type KindInformer = {
  readonly kind: ObjectKind;
  /** The last resourceVersion the informer saw (lists, events and bookmarks). */
  latestResourceVersion(): string;
  stop(): Promise<void>;
};

export type RestartPolicy = { readonly restartMinMs: number; readonly restartMaxMs: number };

function listFunction(kc: KubeConfig, kind: ObjectKind): () => Promise<KubernetesListObject<KubernetesObject>> {
  switch (kind) {
    case 'Namespace': {
      const api = kc.makeApiClient(CoreV1Api);
      return () => api.listNamespace();
    }
    case 'Pod': {
      const api = kc.makeApiClient(CoreV1Api);
      return () => api.listPodForAllNamespaces();
    }
    case 'NetworkPolicy': {
      const api = kc.makeApiClient(NetworkingV1Api);
      return () => api.listNetworkPolicyForAllNamespaces();
    }
  }
}

/**
 * Starts an informer for one kind with our own restart loop: the client's informer re-watches on a clean
 * end and relists on 410 Gone, but stops for good on other errors (HTTP 500, connection refused), so the
 * error callback starts it again with backoff. `stop()` fires the error callback too: the flag guards it.
 */
export function startKindInformer(kc: KubeConfig, kind: ObjectKind, handlers: InformerHandlers, policy: RestartPolicy, log: Logger): KindInformer {
  const list = listFunction(kc, kind);
  let stopped = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const informer = makeInformer<KubernetesObject>(kc, WATCH_PATH[kind], async () => {
    const result = await list();
    if (!stopped) handlers.onList(result.items, result.metadata?.resourceVersion ?? '');
    failures = 0;
    return result;
  });
  informer.on('add', (o) => { if (!stopped) handlers.onChange('add', o); });
  informer.on('update', (o) => { if (!stopped) handlers.onChange('update', o); });
  informer.on('delete', (o) => { if (!stopped) handlers.onChange('delete', o); });
  informer.on('error', (err) => {
    if (stopped || restartTimer !== undefined) return;
    const delayMs = Math.min(policy.restartMaxMs, policy.restartMinMs * 2 ** Math.min(failures, 10));
    failures += 1;
    log.warn({ err: errorOf(err), kind, delayMs }, 'informer stopped, restarting');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopped) void informer.start().catch((e: unknown) => log.error({ err: e, kind }, 'informer start failed'));
    }, delayMs);
  });
  void informer.start().catch((e: unknown) => log.error({ err: e, kind }, 'informer start failed'));
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
