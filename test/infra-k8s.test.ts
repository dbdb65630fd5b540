import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { repoFile, repoPath, yamlDocuments } from './infra-files.js';
import { modelName, unknownFields } from './k8s-fields.js';

/**
 * infra/k8s rendered by `kubectl kustomize` (the base and the example overlay): every object valid for its
 * type (kubernetes-models) with no field its type lacks, and what the deployment promises: the RBAC is
 * exactly the watcher's read access plus its one Lease, only the watcher holds an API token, the applier is confined to
 * NET_ADMIN + NET_RAW on the host network, every workload probed, sized and fed its secrets as files.
 */
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

function render(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', repoPath(dir)], { encoding: 'utf8' });
  // kubectl (kustomize 5) comes with this machine's image; Debian's kubernetes-client (1.20) is too old for it
  if (r.error) throw new Error(`kubectl kustomize ${dir}: kubectl with kustomize 5 is needed (${r.error.message})`);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return yamlDocuments(r.stdout, dir) as Obj[];
}
const rendered = new Map([['infra/k8s/base', render('infra/k8s/base')], ['infra/k8s/overlays/example', render('infra/k8s/overlays/example')]]);
const example = rendered.get('infra/k8s/overlays/example')!;
const must = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(what);
  return value;
};
const id = (o: Obj): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const find = (kind: string, name: string): Obj => must(example.find((o) => o.kind === kind && o.metadata.name === name), `${kind} ${name} missing`);
const workloads = example.filter((o) => ['Deployment', 'DaemonSet', 'Job'].includes(o.kind));
const podOf = (o: Obj): any => o.spec.template.spec;
const envOf = (c: any): Map<string, any> => new Map((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

const Valid = suite('infra/k8s: every rendered object is valid');
for (const [dir, objects] of rendered)
  Valid(`${dir}: kubernetes-models validates each object, and none carries a field its type lacks`, async () => {
    for (const o of objects) {
      const models = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = must(models[o.kind], `${id(o)}: no model`);
      assert.not.throws(() => new Model(o).validate(), id(o));
      assert.equal(unknownFields(o, modelName(o.apiVersion, o.kind)), [], id(o));
    }
  });
Valid('the unknown-field check catches what kubernetes-models lets through', async () => {
  const daemonSet = structuredClone(find('DaemonSet', 'knp-applier'));
  daemonSet.spec.template.spec.hostNetwrok = true;
  daemonSet.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
  const { DaemonSet } = await import('kubernetes-models/apps/v1/DaemonSet');
  assert.not.throws(() => new DaemonSet(daemonSet as never).validate());
  assert.equal(unknownFields(daemonSet, 'V1DaemonSet').sort(), ['spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem', 'spec.template.spec.hostNetwrok']);
});
Valid('the objects: one namespace, four service accounts, the watcher\'s RBAC, config, the init Job, three workloads, a PDB and the critical-pod quota; no broker', () => {
  assert.equal(example.map(id).sort(), [
    'ClusterRole knp-watcher', 'ClusterRoleBinding knp-watcher', 'ConfigMap knp/knp-config', 'DaemonSet knp/knp-applier',
    'Deployment knp/knp-compiler', 'Deployment knp/knp-watcher', 'Job knp/knp-init', 'Namespace knp', 'PodDisruptionBudget knp/knp-compiler',
    'ResourceQuota knp/knp-critical-pods', 'Role knp/knp-watcher-lease', 'RoleBinding knp/knp-watcher-lease', 'ServiceAccount knp/knp-applier', 'ServiceAccount knp/knp-compiler', 'ServiceAccount knp/knp-init', 'ServiceAccount knp/knp-watcher',
  ]);
});
Valid.run();

const Rbac = suite('infra/k8s: API access');
const grantsOf = (role: Obj): string[] => role.rules.flatMap((r: any) =>
  r.apiGroups.flatMap((g: string) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${g || 'core'}/${res}:${v}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`)))).sort();
Rbac('the only RBAC: the watcher may get, list and watch pods, namespaces and networkpolicies, list and watch nodes and clusternetworkpolicies, and hold its Lease; nothing else', () => {
  const rbac = example.filter((o) => o.apiVersion.startsWith('rbac.authorization.k8s.io/'));
  assert.equal(rbac.map(id).sort(), ['ClusterRole knp-watcher', 'ClusterRoleBinding knp-watcher', 'Role knp/knp-watcher-lease', 'RoleBinding knp/knp-watcher-lease']);
  const grants = grantsOf(find('ClusterRole', 'knp-watcher'));
  assert.equal(grants.sort(), ['core/namespaces:get', 'core/namespaces:list', 'core/namespaces:watch', 'core/nodes:list', 'core/nodes:watch',
    'core/pods:get', 'core/pods:list', 'core/pods:watch',
    'networking.k8s.io/networkpolicies:get', 'networking.k8s.io/networkpolicies:list', 'networking.k8s.io/networkpolicies:watch',
    'policy.networking.k8s.io/clusternetworkpolicies:list', 'policy.networking.k8s.io/clusternetworkpolicies:watch']);
  assert.ok(find('ClusterRole', 'knp-watcher').rules.every((r: any) => r.resourceNames === undefined && r.nonResourceURLs === undefined));
  const binding = find('ClusterRoleBinding', 'knp-watcher');
  assert.equal([binding.roleRef, binding.subjects], [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'knp-watcher' }, [{ kind: 'ServiceAccount', name: 'knp-watcher', namespace: 'knp' }]]);
  // the Lease: get and update only that one by name; create cannot name it (the API checks names only for existing objects)
  const lease = find('Role', 'knp-watcher-lease');
  assert.is(lease.metadata.namespace, 'knp');
  assert.equal(grantsOf(lease), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get[knp-watcher]', 'coordination.k8s.io/leases:update[knp-watcher]']);
  const leaseBinding = find('RoleBinding', 'knp-watcher-lease');
  assert.equal([leaseBinding.metadata.namespace, leaseBinding.roleRef, leaseBinding.subjects], ['knp', { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'knp-watcher-lease' }, [{ kind: 'ServiceAccount', name: 'knp-watcher', namespace: 'knp' }]]);
});
Rbac('each workload its own service account; only the watcher mounts an API token', () => {
  for (const w of workloads) {
    const pod = podOf(w);
    const account = find('ServiceAccount', pod.serviceAccountName);
    const mounted = pod.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
    assert.is(mounted, w.metadata.name === 'knp-watcher', `${id(w)} token mounted: ${mounted}`);
    if (w.metadata.name !== 'knp-watcher') assert.equal([pod.automountServiceAccountToken, account.automountServiceAccountToken], [false, false], id(w));
  }
  assert.is(new Set(workloads.map((w) => podOf(w).serviceAccountName)).size, workloads.length);
});
Rbac.run();

const Shape = suite('infra/k8s: the workloads');
Shape('watcher: two replicas (one holds the Lease, one stands by) spread over nodes, rolled one at a time, the Lease in the pod\'s namespace', () => {
  const w = find('Deployment', 'knp-watcher');
  assert.equal([w.spec.replicas, w.spec.strategy], [2, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }]);
  const term = w.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.equal([term.topologyKey, term.labelSelector.matchLabels], ['kubernetes.io/hostname', w.spec.selector.matchLabels]);
  assert.equal(envOf(podOf(w).containers[0]).get('KNP_LEASE_NAMESPACE'), { fieldRef: { fieldPath: 'metadata.namespace' } });
  assert.not.ok(envOf(podOf(w).containers[0]).has('KNP_LEASE_NAME'), 'the Role names the default Lease, knp-watcher');
});
Shape('compilers: two replicas spread over nodes, a PodDisruptionBudget keeping one', () => {
  const c = find('Deployment', 'knp-compiler');
  assert.is(c.spec.replicas, 2);
  const term = c.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.equal([term.topologyKey, term.labelSelector.matchLabels], ['kubernetes.io/hostname', c.spec.selector.matchLabels]);
  const pdb = find('PodDisruptionBudget', 'knp-compiler');
  assert.equal([pdb.spec.minAvailable, pdb.spec.selector.matchLabels], [1, c.spec.selector.matchLabels]);
});
Shape('applier: every node, host network, NET_ADMIN + NET_RAW only, read-only root, node name from the pod, state and xtables lock from the host', () => {
  const a = find('DaemonSet', 'knp-applier');
  const pod = podOf(a);
  const [c, ...others] = pod.containers;
  assert.equal(others, []);
  assert.equal([pod.hostNetwork, pod.dnsPolicy, pod.tolerations, a.spec.updateStrategy.type], [true, 'ClusterFirstWithHostNet', [{ operator: 'Exists' }], 'RollingUpdate']);
  assert.equal([c.securityContext.capabilities.add.slice().sort(), c.securityContext.capabilities.drop], [['NET_ADMIN', 'NET_RAW'], ['ALL']]);
  assert.equal([c.securityContext.readOnlyRootFilesystem, c.securityContext.allowPrivilegeEscalation, c.securityContext.privileged], [true, false, undefined]);
  assert.equal(envOf(c).get('KNP_NODE_NAME'), { fieldRef: { fieldPath: 'spec.nodeName' } });
  const hostPaths = pod.volumes.filter((v: any) => v.hostPath).map((v: any) => [v.hostPath.path, v.hostPath.type]);
  assert.equal(hostPaths, [['/var/lib/knp', 'DirectoryOrCreate'], ['/run/xtables.lock', 'FileOrCreate']]);
  assert.is(envOf(c).get('KNP_STATE_DIR'), '/var/lib/knp');
  assert.ok(pod.hostPID === undefined && pod.hostIPC === undefined);
});
Shape('applier: system-node-critical, in kube-system or beside a quota that admits that class', () => {
  const a = find('DaemonSet', 'knp-applier');
  assert.is(podOf(a).priorityClassName, 'system-node-critical');
  if (a.metadata.namespace === 'kube-system') return;
  const quota = example.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === a.metadata.namespace
    && o.spec.scopeSelector?.matchExpressions?.some((e: any) => e.scopeName === 'PriorityClass' && e.operator === 'In' && e.values.includes('system-node-critical')));
  assert.ok(quota, 'no ResourceQuota scoped to system-node-critical in the applier\'s namespace');
});
Shape('everything but the applier: non-root, no capability, read-only root, no privilege escalation', () => {
  for (const w of workloads.filter((w) => w.kind !== 'DaemonSet'))
    for (const c of podOf(w).containers) {
      assert.equal([podOf(w).securityContext.runAsNonRoot, podOf(w).securityContext.runAsUser], [true, 10001], id(w));
      assert.equal([c.securityContext.capabilities, c.securityContext.readOnlyRootFilesystem, c.securityContext.allowPrivilegeEscalation], [{ drop: ['ALL'] }, true, false], id(w));
    }
});
Shape('every container: the overlay\'s image, requests and a memory limit; every service probed on /healthz and /readyz at KNP_HTTP_PORT', () => {
  for (const w of workloads)
    for (const c of podOf(w).containers) {
      assert.is(c.image, 'registry.example.com/knp:0.1.0', id(w));
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${id(w)} resources`);
      if (w.kind === 'Job') continue;
      const port = c.ports.find((p: any) => p.name === 'http');
      assert.is(String(port.containerPort), envOf(c).get('KNP_HTTP_PORT'), `${id(w)}: the probed port is KNP_HTTP_PORT`);
      assert.equal([c.livenessProbe.httpGet, c.readinessProbe.httpGet], [{ path: '/healthz', port: 'http' }, { path: '/readyz', port: 'http' }], id(w));
    }
});
Shape('NATS: its URL from the config map (set by the overlay), each workload connecting as its own role', () => {
  assert.is(find('ConfigMap', 'knp-config').data.KNP_NATS_URL, 'nats://nats.messaging.svc.cluster.local:4222');
  const roles = new Map([['knp-watcher', 'watcher'], ['knp-compiler', 'compiler'], ['knp-applier', 'applier'], ['knp-init', 'init']]);
  for (const w of workloads) {
    const c = podOf(w).containers[0];
    assert.equal(c.envFrom, [{ configMapRef: { name: 'knp-config' } }], id(w));
    assert.not.ok(envOf(c).has('KNP_NATS_URL'), `${id(w)} sets its own NATS URL`);
    assert.is(envOf(c).get('KNP_NATS_USER'), roles.get(w.metadata.name), id(w));
  }
});
Shape('credentials and keys are files from Secrets, each path a mounted item; every Secret is one the README tells how to make', () => {
  const readme = repoFile('infra/README.md');
  const expected: Record<string, string[]> = {
    'knp-watcher': ['KNP_NATS_PASSWORD_FILE', 'KNP_SIGNING_KEY'],
    'knp-compiler': ['KNP_NATS_PASSWORD_FILE', 'KNP_SIGNING_KEY', 'KNP_TRUSTED_WATCHER_KEYS', 'KNP_TRUSTED_COMPILER_KEYS'],
    'knp-applier': ['KNP_NATS_PASSWORD_FILE', 'KNP_TRUSTED_COMPILER_KEYS'],
    'knp-init': ['KNP_NATS_PASSWORD_FILE'],
  };
  for (const w of workloads) {
    const pod = podOf(w);
    const c = pod.containers[0];
    const files = new Map<string, string>();
    for (const m of c.volumeMounts ?? []) {
      const volume = pod.volumes.find((v: any) => v.name === m.name);
      if (!volume.secret) continue;
      assert.ok(m.readOnly, `${id(w)}: ${m.name} mounted writable`);
      assert.ok(readme.includes(volume.secret.secretName), `infra/README.md does not say how to make Secret ${volume.secret.secretName}`);
      for (const item of volume.secret.items) files.set(`${m.mountPath}/${item.path}`, `${volume.secret.secretName}/${item.key}`);
    }
    const secretVars = [...envOf(c).entries()].filter(([, v]) => typeof v === 'string' && files.has(v)).map(([k]) => k);
    assert.equal(secretVars.sort(), expected[w.metadata.name]!.slice().sort(), id(w));
    assert.not.ok(c.env.some((e: any) => e.valueFrom?.secretKeyRef), `${id(w)}: a secret in the environment`);
  }
});
Shape.run();
