/** Raw API objects as the client hands them over (watch: plain JSON; typed list: Dates). */
export const rawPod = (over: { uid?: string; rv?: string; labels?: Record<string, string>; ip?: string; conditions?: unknown[]; created?: unknown } = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    uid: over.uid ?? 'uid-a',
    name: 'a',
    namespace: 'prod',
    labels: over.labels ?? { app: 'web' },
    resourceVersion: over.rv ?? '10',
    creationTimestamp: over.created ?? '2024-05-01T10:00:00Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: {
    nodeName: 'node-1',
    containers: [
      { name: 'web', image: 'nginx', env: [{ name: 'SECRET', value: 'x' }], ports: [{ name: 'http', containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] },
      { name: 'sidecar', image: 'envoy' },
    ],
  },
  status: { phase: 'Running', podIP: over.ip ?? '10.0.0.1', podIPs: [{ ip: over.ip ?? '10.0.0.1' }], conditions: over.conditions ?? [{ type: 'Ready', status: 'True' }] },
});
