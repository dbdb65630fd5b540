import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startStandin } from '@knp/sim';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';
import { loadManifests } from '../load-manifests.js';
import { safeText } from '../safe-text.js';
import { standinObjects } from '../standin-objects.js';

const EXAMPLES = fileURLToPath(new URL('../../../../../examples/', import.meta.url));

const USAGE = `usage: knp standin [--manifests PATH...] [--host H] [--port P] [--kubeconfig FILE] [--no-cnp-crd]

A Kubernetes API stand-in for a cluster without Kubernetes (the dev stack in infra/, a laptop): serves list
and watch of the Namespaces, Pods, NetworkPolicies, Nodes (their labels and status.addresses) and
ClusterNetworkPolicies in the manifests (default: examples/) over plain HTTP on H:P (default
127.0.0.1:8080), until SIGINT or SIGTERM. Point the watcher at it with a kubeconfig whose server is that
address (--kubeconfig writes one naming http://H:P). Objects do not change while it runs. --no-cnp-crd
serves a cluster without the ClusterNetworkPolicy CRD (policy.networking.k8s.io/v1alpha2 answers 404;
ClusterNetworkPolicies in the manifests are skipped).`;

/** `knp standin`: serves manifests as a read-only API server until a signal. */
export const standinCommand: Command = {
  name: 'standin',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseArgs({
      args: [...argv],
      options: { manifests: { type: 'string', multiple: true }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' }, kubeconfig: { type: 'string' }, 'no-cnp-crd': { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: false,
    });
    const port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port!) || port > 65_535) throw new UsageError(`--port ${JSON.stringify(values.port)}: 0-65535`);
    const host = values.host!;
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new UsageError(`--host ${JSON.stringify(host)}: an address or host name`);
    const { objects, skipped } = standinObjects(loadManifests(values.manifests ?? [EXAMPLES], { skipped: (what) => io.err(`skipped: ${safeText(what)}\n`) }));
    for (const s of skipped) io.err(`skipped: ${safeText(s)}\n`);
    const standin = await startStandin({ host, port, clusterNetworkPolicyCrd: !values['no-cnp-crd'] });
    let served = 0;
    for (const { kind, object } of objects) {
      try {
        standin.create(kind, object);
        served += 1;
      } catch (err) {
        io.err(`skipped: ${safeText((err as Error).message)}\n`);
      }
    }
    if (values.kubeconfig) standin.writeKubeconfig(values.kubeconfig);
    io.out(`knp standin: serving ${served} objects at ${standin.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await standin.close();
    return 0;
  },
};
