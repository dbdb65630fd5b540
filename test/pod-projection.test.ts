import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '@knp/shared';
import { podRecord } from '@knp/compiler';
import { trimObject } from '@knp/watcher';

/**
 * The watcher publishes a trimmed Pod and the compiler reads a record from it; `knp compile --manifests`
 * reads the record from the full object. Both must resolve named ports (and everything else) the same way:
 * podRecord(trim(x)) = podRecord(x) over generated pods with containers, init containers (restartable or
 * not), unnamed, duplicate and malformed ports.
 */
const Projection = suite('one Pod projection for the watcher and the compiler');

function generatedPod(random: () => number, i: number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const port = (): Record<string, unknown> => {
    const p: Record<string, unknown> = {};
    if (random() < 0.8) p.name = pick(['http', 'dns', 'metrics', 'a-b', 'HTTP', 'x--y', '-bad', '9000', 'abcdefghijklmnopq', 'http']);
    p.containerPort = pick<unknown>([80, 53, 8080, 9090, 0, 70000, 1.5, '80', 65535, 1]);
    if (random() < 0.7) p.protocol = pick(['TCP', 'UDP', 'SCTP', 'ICMP', 'tcp']);
    return p;
  };
  const container = (restartPolicy?: string): Record<string, unknown> => ({
    name: `c${Math.floor(random() * 100)}`,
    ...(restartPolicy !== undefined ? { restartPolicy } : {}),
    ...(random() < 0.9 ? { ports: Array.from({ length: Math.floor(random() * 4) }, port) } : {}),
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { uid: `uid-${i}`, name: `p${i}`, namespace: 'ns', labels: { app: pick(['a', 'b']) }, resourceVersion: String(i), creationTimestamp: '2024-05-01T10:00:00Z' },
    spec: {
      nodeName: pick(['node-1', 'node-2']),
      ...(random() < 0.1 ? { hostNetwork: true } : {}),
      containers: Array.from({ length: 1 + Math.floor(random() * 3) }, () => container()),
      ...(random() < 0.6 ? { initContainers: Array.from({ length: 1 + Math.floor(random() * 2) }, () => container(pick([undefined, 'Always', 'Never', 'OnFailure'])!)) } : {}),
    },
    status: { phase: pick(['Running', 'Pending', 'Succeeded']), podIP: `10.0.${i >> 8}.${i & 255}`, podIPs: [{ ip: `10.0.${i >> 8}.${i & 255}` }] },
  };
}

Projection('podRecord(trim(x)) equals podRecord(x) for 2,000 generated pods', () => {
  const random = seededRandom(11);
  let withPorts = 0;
  for (let i = 0; i < 2_000; i++) {
    const raw = generatedPod(random, i);
    const trimmed = trimObject('Pod', raw)!;
    const direct = podRecord(`uid-${i}`, 'ns', `p${i}`, raw)!;
    assert.equal(podRecord(`uid-${i}`, 'ns', `p${i}`, trimmed), direct, `pod ${i}`);
    if (direct.ports.length > 0) withPorts += 1;
  }
  assert.ok(withPorts > 500, `the generator produces named ports (${withPorts} pods had some)`);
});

Projection('named ports resolve from containers and restartable init containers only', () => {
  const raw = {
    metadata: { uid: 'u', name: 'p', namespace: 'ns' },
    spec: {
      containers: [{ ports: [{ name: 'http', containerPort: 80 }] }],
      initContainers: [
        { restartPolicy: 'Always', ports: [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }] },
        { ports: [{ name: 'setup', containerPort: 7000 }] },
      ],
    },
  };
  const expected = [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'metrics', protocol: 'TCP', port: 9090 }];
  assert.equal(podRecord('u', 'ns', 'p', raw)?.ports, expected);
  assert.equal(podRecord('u', 'ns', 'p', trimObject('Pod', raw))?.ports, expected);
});

Projection.run();
