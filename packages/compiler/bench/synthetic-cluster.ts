/*
 * A deterministic synthetic cluster for the benchmark: plain Kubernetes objects (Namespaces, Pods,
 * NetworkPolicies) from a seeded PRNG, shaped like a multi-team platform. No Math.random, no clock.
 */
import { seededRandom } from '@knp/shared';

type Labels = Record<string, string>;
type Obj = Record<string, unknown>;

/** mulberry32: a small seeded PRNG, good enough to spread synthetic objects. */
export type Rng = { next(): number; int(n: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean };
export function rng(seed: number): Rng {
  const next = seededRandom(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]!, chance: (p) => next() < p };
}

export type ClusterSize = { readonly pods: number; readonly nodes: number; readonly namespaces: number; readonly policies: number };
export const DEFAULT_SIZE: ClusterSize = { pods: 10_000, nodes: 100, namespaces: 500, policies: 2_000 };

export type SyntheticCluster = {
  readonly namespaces: Obj[];
  readonly pods: Obj[];
  readonly policies: Obj[];
  /** app names present in each namespace (for changes that stay realistic). */
  readonly appsByNamespace: ReadonlyMap<string, readonly string[]>;
};

type PortSpec = { name: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' };
type App = { name: string; tier: string; ports: PortSpec[]; weight: number };

const METRICS: PortSpec = { name: 'metrics', port: 9090 };
const CATALOG: readonly App[] = [
  { name: 'web', tier: 'frontend', ports: [{ name: 'http', port: 8080 }, METRICS], weight: 4 },
  { name: 'bff', tier: 'frontend', ports: [{ name: 'http', port: 8081 }, METRICS], weight: 2 },
  { name: 'api', tier: 'backend', ports: [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9000 }, METRICS], weight: 5 },
  { name: 'worker', tier: 'backend', ports: [METRICS], weight: 3 },
  { name: 'auth', tier: 'backend', ports: [{ name: 'grpc', port: 9443 }, METRICS], weight: 1 },
  { name: 'postgres', tier: 'data', ports: [{ name: 'postgres', port: 5432 }, { name: 'metrics', port: 9187 }], weight: 2 },
  { name: 'redis', tier: 'data', ports: [{ name: 'redis', port: 6379 }, { name: 'metrics', port: 9121 }], weight: 2 },
  { name: 'kafka', tier: 'data', ports: [{ name: 'kafka', port: 9092 }, { name: 'metrics', port: 7071 }], weight: 1 },
  { name: 'syslog', tier: 'backend', ports: [{ name: 'syslog', port: 514, protocol: 'UDP' }, { name: 'sigtran', port: 2905, protocol: 'SCTP' }], weight: 1 },
];
const ENVS = ['prod', 'prod', 'staging', 'dev'] as const;
const TEAMS = Array.from({ length: 40 }, (_, i) => `team${String(i).padStart(2, '0')}`);

/**
 * Builds the cluster. Pod IPs come from a /24 per node (10.244.N.0/24, then 10.245.0.0/24 from node 256 on);
 * dual-stack namespaces add fd00:10:244:N::/64.
 */
export function generateCluster(seed = 42, size: ClusterSize = DEFAULT_SIZE): SyntheticCluster {
  const r = rng(seed);
  const namespaces: Obj[] = [];
  const nsInfo: { name: string; labels: Labels; apps: App[]; dual: boolean }[] = [];

  const platform: { name: string; labels: Labels; apps: App[] }[] = [
    { name: 'kube-system', labels: { tier: 'platform' }, apps: [{ name: 'kube-dns', tier: 'platform', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }, METRICS], weight: 1 }] },
    { name: 'ingress-nginx', labels: { tier: 'platform', team: 'platform' }, apps: [{ name: 'ingress-nginx', tier: 'platform', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }, METRICS], weight: 1 }] },
    { name: 'monitoring', labels: { tier: 'platform', team: 'observability', env: 'prod' }, apps: [{ name: 'prometheus', tier: 'platform', ports: [{ name: 'web', port: 9090 }], weight: 1 }] },
  ];
  for (const p of platform) nsInfo.push({ ...p, dual: false });
  for (let i = nsInfo.length; i < size.namespaces; i++) {
    const team = r.pick(TEAMS), env = r.pick(ENVS);
    const tier = r.pick(['frontend', 'backend', 'backend', 'data']);
    const labels: Labels = { team, env, tier };
    if (r.chance(0.3)) labels['istio-injection'] = 'enabled';
    if (r.chance(0.1)) labels.compliance = 'pci';
    const appCount = 2 + r.int(4);
    const apps: App[] = [];
    while (apps.length < appCount) {
      const app = weighted(r, CATALOG);
      if (!apps.includes(app)) apps.push(app);
    }
    nsInfo.push({ name: `${team}-${env}-${String(i).padStart(3, '0')}`, labels, apps, dual: r.chance(0.1) });
  }
  for (const ns of nsInfo) namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, uid: `ns-${ns.name}`, labels: ns.labels } });

  // pods: the platform gets a few replicas each, the rest spread with skew (some namespaces are big)
  const weights = nsInfo.map((ns, i) => (i < platform.length ? 0 : 0.3 + r.next() ** 3 * 4));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const perNode = new Array<number>(size.nodes).fill(0);
  const pods: Obj[] = [];
  const podFor = (ns: (typeof nsInfo)[number], app: App, idx: number, extra: { hostNetwork?: boolean; phase?: string; node?: number } = {}): void => {
    const n = extra.node ?? r.int(size.nodes);
    const host = ++perNode[n]!;
    if (host > 253) throw new Error(`synthetic cluster: node ${n} has more than 253 pods`);
    const name = `${app.name}-${idx.toString(36).padStart(4, '0')}`;
    const labels: Labels = { app: app.name, tier: app.tier, version: `v${1 + r.int(3)}`, 'pod-template-hash': (r.int(2 ** 30)).toString(36) };
    if (app.name === 'kube-dns') labels['k8s-app'] = 'kube-dns';
    if (app.name === 'ingress-nginx') labels['app.kubernetes.io/name'] = 'ingress-nginx';
    if (r.chance(0.02)) labels.quarantine = 'true';
    const pending = extra.phase === 'Pending';
    const ips = pending ? [] : extra.hostNetwork ? [`192.168.${(n + 1) >> 8}.${(n + 1) & 0xff}`] : [`10.${244 + (n >> 8)}.${n & 0xff}.${host}`, ...(ns.dual ? [`fd00:10:244:${n.toString(16)}::${host.toString(16)}`] : [])];
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns.name, uid: `pod-${ns.name}-${name}`, labels, creationTimestamp: `2024-01-01T00:00:${String(pods.length % 60).padStart(2, '0')}Z` },
      spec: {
        ...(pending && r.chance(0.5) ? {} : { nodeName: `node-${String(n).padStart(3, '0')}` }),
        ...(extra.hostNetwork ? { hostNetwork: true } : {}),
        containers: [{ name: app.name, ports: app.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol ?? 'TCP' })) }],
      },
      status: { phase: extra.phase ?? 'Running', ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}) },
    });
  };
  // platform: 4 kube-dns, 6 ingress controllers, 2 prometheus, and a host-network node exporter per node
  [4, 6, 2].forEach((replicas, i) => { for (let k = 0; k < replicas; k++) podFor(nsInfo[i]!, nsInfo[i]!.apps[0]!, k); });
  const exporter: App = { name: 'node-exporter', tier: 'platform', ports: [METRICS], weight: 1 };
  for (let n = 0; n < size.nodes; n++) podFor(nsInfo[2]!, exporter, n, { hostNetwork: true, node: n });
  const counters = new Map<string, number>();
  while (pods.length < size.pods) {
    let x = r.next() * totalWeight, i = 0;
    while (x >= weights[i]! && i < weights.length - 1) x -= weights[i++]!;
    const ns = nsInfo[i]!;
    const app = weighted(r, ns.apps);
    const key = `${ns.name}/${app.name}`;
    const idx = counters.get(key) ?? 0;
    counters.set(key, idx + 1);
    // a few finished jobs and pending pods: neither targets nor peers
    podFor(ns, app, idx, r.chance(0.01) ? { phase: r.chance(0.5) ? 'Succeeded' : 'Pending' } : {});
  }

  // policies: an ordered wish list per namespace (platform namespaces take all of theirs), then each
  // team namespace takes a quota (2-9, skewed) from the front, so the total is exact
  const wishes = nsInfo.map((ns) => policyWishes(r, ns.name, ns.labels, ns.apps.map((a) => a.name)));
  const quota = nsInfo.map((_, i) => (i < platform.length ? wishes[i]!.length : 0));
  const teams = nsInfo.length - platform.length;
  const left = size.policies - quota.reduce((a, b) => a + b, 0);
  for (let i = platform.length; i < nsInfo.length; i++) quota[i] = Math.floor(left / teams);
  for (let k = left - Math.floor(left / teams) * teams; k > 0; k--) quota[platform.length + r.int(teams)]!++;
  for (let k = 0; k < 400; k++) {
    const a = platform.length + r.int(teams), b = platform.length + r.int(teams);
    if (quota[a]! > 2 && quota[b]! < 9) quota[a]!--, quota[b]!++;
  }
  const policies: Obj[] = [];
  nsInfo.forEach((ns, i) => {
    for (const [name, spec] of wishes[i]!.slice(0, quota[i]))
      policies.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns.name, uid: `np-${ns.name}-${name}` }, spec });
  });
  if (policies.length !== size.policies) throw new Error(`synthetic cluster: ${policies.length} policies, wanted ${size.policies}`);
  return { namespaces, pods, policies, appsByNamespace: new Map(nsInfo.map((ns) => [ns.name, ns.apps.map((a) => a.name)])) };
}

function weighted<T extends { weight: number }>(r: Rng, items: readonly T[]): T {
  let x = r.next() * items.reduce((a, b) => a + b.weight, 0);
  for (const item of items) if ((x -= item.weight) < 0) return item;
  return items[items.length - 1]!;
}

const app = (name: string) => ({ matchLabels: { app: name } });
const PRIVATE_EXCEPT = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

/**
 * What a namespace would want, most important first: default-deny, the allows its apps need (same
 * namespace by app label mostly), then cross-namespace, ipBlock, endPort and matchExpressions variants.
 */
function policyWishes(r: Rng, ns: string, nsLabels: Labels, apps: readonly string[]): Array<[string, Obj]> {
  const out: Array<[string, Obj]> = [];
  const other = (a: string) => r.pick(apps.filter((x) => x !== a).length ? apps.filter((x) => x !== a) : apps);
  if (ns === 'kube-system')
    return [['allow-dns', { podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } }, ingress: [{ ports: [{ port: 'dns', protocol: 'UDP' }, { port: 'dns-tcp' }] }] }]];
  if (ns === 'ingress-nginx')
    return [['allow-external', { podSelector: app('ingress-nginx'), policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }], ports: [{ port: 'http' }, { port: 'https' }] }] }]];
  if (ns === 'monitoring')
    return [['default-deny', { podSelector: {}, policyTypes: ['Ingress'] }], ['allow-grafana', { podSelector: app('prometheus'), ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'observability' } } }], ports: [{ port: 'web' }] }] }]];

  if (r.chance(0.85)) out.push(['default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }]);
  const candidates: Array<[string, Obj]> = [];
  // same-namespace allows by app label, named or numeric ports
  for (const a of apps) {
    const from = other(a);
    candidates.push([`allow-${from}-to-${a}`, { podSelector: app(a), policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: app(from) }], ports: r.chance(0.5) ? [{ port: 'http' }, { port: 'grpc' }] : [{ port: 8080 }, { port: 9000, protocol: 'TCP' }] }] }]);
  }
  // scraping from the monitoring namespace (namespace + pod selector), named port
  candidates.push(['allow-prometheus', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: app('prometheus') }], ports: [{ port: 'metrics' }] }] }]);
  // frontends take traffic from the ingress controller
  if (apps.includes('web') || apps.includes('bff'))
    candidates.push(['allow-ingress-controller', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'bff'] }] }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } } }], ports: [{ port: 8080 }, { port: 8081 }] }] }]);
  // cross-namespace within the team and environment (namespaceSelector matchExpressions + podSelector)
  if (nsLabels.team && (apps.includes('api') || apps.includes('auth')))
    candidates.push(['allow-team-frontends', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'auth'] }] }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: [nsLabels.team] }, { key: 'env', operator: 'In', values: [nsLabels.env ?? 'prod'] }] }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }, { key: 'quarantine', operator: 'DoesNotExist' }] } }], ports: [{ port: 'http' }, { port: 'grpc' }] }] }]);
  // egress lockdown: default-deny egress, DNS to kube-dns, same namespace, named ports to the api
  if (r.chance(0.35)) {
    candidates.push(['default-deny-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }] }]);
    candidates.push(['allow-egress-same-namespace', { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['postgres', 'redis'] }] }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {} }] }, { to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } }], ports: [{ port: 'grpc' }, { port: 'http' }] }] }]);
  }
  // data stores: only backends of the namespace, and the DB subnet by ipBlock
  for (const a of apps.filter((x) => ['postgres', 'redis', 'kafka'].includes(x)))
    candidates.push([`allow-backends-to-${a}`, { podSelector: app(a), ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'backend' } } }, { ipBlock: { cidr: '10.200.0.0/16', except: ['10.200.99.0/24'] } }], ports: [{ port: a === 'postgres' ? 5432 : a === 'redis' ? 6379 : 9092 }] }] }]);
  // workers call external APIs: egress to the internet except private ranges and the metadata service
  if (apps.includes('worker') || apps.includes('api'))
    candidates.push(['allow-egress-internet', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['worker', 'api'] }] }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...PRIVATE_EXCEPT, '169.254.169.254/32'] } }, { ipBlock: { cidr: '::/0', except: ['fd00::/8'] } }], ports: [{ port: 443 }, { port: 80 }] }, { to: [{ ipBlock: { cidr: '10.96.0.0/12' } }], ports: [{ port: 30000, endPort: 32767 }] }] }]);
  // kafka and redis clusters: peer ranges with endPort
  if (apps.includes('kafka') || apps.includes('redis'))
    candidates.push(['allow-cluster-ports', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['data'] }] }, ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'data' } } }], ports: [{ port: 7000, endPort: 7010 }, { port: 16379 }, { port: 9093, endPort: 9099, protocol: 'TCP' }] }] }]);
  // syslog collectors take UDP and SCTP from the whole environment
  if (apps.includes('syslog'))
    candidates.push(['allow-syslog', { podSelector: app('syslog'), ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: nsLabels.env ?? 'prod' } } }], ports: [{ port: 'syslog', protocol: 'UDP' }, { port: 2905, protocol: 'SCTP' }] }] }]);
  // pci namespaces: only from other pci namespaces, never quarantined pods
  if (nsLabels.compliance === 'pci')
    candidates.push(['pci-isolation', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { compliance: 'pci' } }, podSelector: { matchExpressions: [{ key: 'quarantine', operator: 'DoesNotExist' }] } }] }] }]);
  // mesh namespaces allow their sidecar ports from anywhere in the mesh
  if (nsLabels['istio-injection'])
    candidates.push(['allow-mesh', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'Exists' }, { key: 'env', operator: 'NotIn', values: ['dev'] }] } }], ports: [{ port: 15000, endPort: 15090 }] }] }]);
  // shuffle the allows so quotas cut at different places
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  out.push(...candidates);
  // still short of the quota: more same-namespace allows with numeric ports
  for (let k = 0; out.length < 12; k++) {
    const a = apps[k % apps.length]!;
    out.push([`allow-extra-${k}`, { podSelector: app(a), ingress: [{ from: [{ podSelector: app(other(a)) }], ports: [{ port: 8000 + k }] }] }]);
  }
  return out;
}

/** A pod object with one label changed: mostly a rollout's version bump, sometimes an app relabel or quarantine. */
export function withPodLabelChange(r: Rng, pod: Obj, apps: readonly string[]): Obj {
  const copy = structuredClone(pod) as { metadata: { labels: Labels; resourceVersion?: string } };
  const labels = copy.metadata.labels;
  const roll = r.next();
  if (roll < 0.4) labels.version = `v${1 + ((Number(labels.version?.slice(1) ?? 0) + 1) % 3)}`;
  else if (roll < 0.7) labels.app = r.pick(apps.filter((a) => a !== labels.app).length ? apps.filter((a) => a !== labels.app) : apps);
  else if (labels.quarantine) delete labels.quarantine;
  else labels.quarantine = 'true';
  return copy as unknown as Obj;
}

/** A policy object with one rule edited: a port changed, a peer added, or a peer's selector changed. */
export function withPolicyRuleEdit(r: Rng, policy: Obj): Obj {
  const copy = structuredClone(policy) as { spec: { ingress?: Obj[]; egress?: Obj[]; podSelector: Obj } };
  const rules = [...(copy.spec.ingress ?? []), ...(copy.spec.egress ?? [])];
  if (rules.length === 0) {
    // a default-deny gains an allow from its own namespace on one port
    copy.spec.ingress = [{ from: [{ podSelector: {} }], ports: [{ port: 8443 }] }];
    return copy as unknown as Obj;
  }
  const rule = r.pick(rules) as { from?: Obj[]; to?: Obj[]; ports?: Obj[] };
  const field = (copy.spec.ingress ?? []).includes(rule as Obj) ? 'from' : 'to';
  const roll = r.next();
  if (roll < 0.4 && rule.ports?.length) rule.ports[0] = { port: 10_000 + r.int(1000), protocol: 'TCP' };
  else if (roll < 0.7 || !rule[field]?.length) (rule[field] ??= []).push({ podSelector: { matchLabels: { app: r.pick(['web', 'api', 'worker']) } } });
  else rule[field]![0] = { podSelector: { matchLabels: { tier: r.pick(['frontend', 'backend']) } } };
  return copy as unknown as Obj;
}
