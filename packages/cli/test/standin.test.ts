import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { standinObjects } from '../src/standin-objects.js';

const Pick = suite('standinObjects: what knp standin serves');
const ns = (name: unknown) => ({ kind: 'Namespace', metadata: { name } });
const cases: Array<[what: string, manifests: unknown[], kinds: string[], skipped: string[]]> = [
  ['the watched kinds are served, others ignored', [ns('a'), { kind: 'Pod', metadata: { name: 'p', namespace: 'a' } }, { kind: 'Deployment', metadata: { name: 'd' } }], ['Namespace', 'Pod'], []],
  ['Nodes and ClusterNetworkPolicies are served too (cluster-scoped)', [{ kind: 'Node', metadata: { name: 'node-1.example' } }, { kind: 'ClusterNetworkPolicy', metadata: { name: 'deny-all' } }], ['Node', 'ClusterNetworkPolicy'], []],
  ['a List is expanded', [{ kind: 'List', items: [ns('a'), { kind: 'NetworkPolicy', metadata: { name: 'np' } }] }], ['Namespace', 'NetworkPolicy'], []],
  ['a bad name is skipped and named, hostile text previewed', [ns('Bad\nName'), 'text'], [], ['object 0: Namespace metadata.name "Bad\\nName" is not a DNS-1123 label', 'object 1: not an object']],
  ['a bad namespace is skipped', [{ kind: 'Pod', metadata: { name: 'p', namespace: 'x/y' } }], [], ['object 0: Pod metadata.namespace "x/y" is not a DNS-1123 label']],
  ['an object without metadata is skipped', [{ kind: 'Pod' }], [], ['object 0: Pod without metadata']],
];
for (const [what, manifests, kinds, skipped] of cases)
  Pick(what, () => {
    const r = standinObjects(manifests);
    assert.equal(r.objects.map((o) => o.kind), kinds);
    assert.equal(r.skipped, skipped);
  });
Pick.run();

const Serve = suite('knp standin serves examples/ to list and watch');
const root = fileURLToPath(new URL('../../../../', import.meta.url));
let dir = '';
Serve.before(() => void (dir = mkdtempSync(join(tmpdir(), 'knp-standin-'))));
Serve.after(() => rmSync(dir, { recursive: true, force: true }));

Serve('lists the example pods, writes a kubeconfig naming itself, and stops on SIGTERM with exit 0', async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(join(root, 'bin/knp'), ['standin', '--port', '0', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /serving (\d+) objects at (http:\S+)/.exec(out);
        if (m) resolve(m[2]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before serving`)));
    });
    assert.is(JSON.parse(readFileSync(kubeconfig, 'utf8')).clusters[0].cluster.server, url);
    const pods = (await (await fetch(`${url}/api/v1/pods`)).json()) as { items: { metadata: { namespace: string; name: string } }[] };
    assert.equal(pods.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), ['backend/api-1', 'backend/api-2', 'database/postgres-0', 'frontend/web-1', 'frontend/web-2', 'monitoring/prometheus-0']);
    const policies = (await (await fetch(`${url}/apis/networking.k8s.io/v1/networkpolicies`)).json()) as { items: unknown[] };
    assert.ok(policies.items.length > 0);
    assert.is((await fetch(`${url}/api/v1/nodes`)).status, 200, 'Nodes are served (none in examples/)');
    const discovery = (await (await fetch(`${url}/apis/policy.networking.k8s.io/v1alpha2`)).json()) as { resources: { name: string }[] };
    assert.equal(discovery.resources.map((r) => r.name), ['clusternetworkpolicies'], 'the ClusterNetworkPolicy CRD is installed by default');
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.is(await exited, 0);
    }
  }
});
Serve.run();
