import { parseArgs } from 'node:util';
import { isValidPrefix } from '@knp/shared';
import { compileAll, compileNode } from '@knp/compiler';
import { KERNEL_FORMATS, parseFormat, renderers } from '@knp/node-applier';
import { clusterFromManifests } from '../cluster-from-manifests.js';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';

const USAGE = `usage: knp compile --manifests PATH [--manifests PATH...] (--node NAME | --all-nodes) [--format ir|nft|iptables|ip6tables|ipset] [--prefix P]

Compiles Kubernetes manifests (files or folders of YAML or JSON: Namespaces, Pods, NetworkPolicies) to one
node's rule set: the IR as JSON, or what the applier would load into a node holding none of our rules.
Policies the API server would reject are reported on stderr (object and field); the rest still compiles.`;

/**
 * `knp compile`: prints one node's rule set (ir = JSON, or a kernel format) or, with --all-nodes, one JSON
 * object keyed by node. Rejected policies go to stderr; the rest still compiles and the exit code is 0.
 */
export const compileCommand: Command = {
  name: 'compile',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        manifests: { type: 'string', multiple: true },
        node: { type: 'string' },
        'all-nodes': { type: 'boolean' },
        format: { type: 'string', default: 'ir' },
        prefix: { type: 'string', default: 'knp' },
      },
      strict: true,
    });
    if (!values.manifests?.length) throw new UsageError('--manifests is required');
    if (!values.node === !values['all-nodes']) throw new UsageError('give exactly one of --node NAME or --all-nodes');
    const format = parseFormat(values.format!);
    if (format === undefined) throw new UsageError(`--format ${JSON.stringify(values.format)}: expected ir or one of ${KERNEL_FORMATS.join('|')}`);
    if (!isValidPrefix(values.prefix!)) throw new UsageError(`--prefix ${JSON.stringify(values.prefix)}: 1-8 of a-z0-9, starting with a letter`);
    if (values['all-nodes'] && format !== 'ir') throw new UsageError('--all-nodes prints JSON: use --format ir');

    const state = clusterFromManifests(values.manifests, io, env);
    if (values['all-nodes']) {
      io.out(`${JSON.stringify(compileAll(state), null, 2)}\n`);
      return 0;
    }
    const { ruleSet } = compileNode(state, values.node!);
    io.out(format === 'ir' ? `${JSON.stringify(ruleSet, null, 2)}\n` : renderers.get(format)!(ruleSet, values.prefix!));
    return 0;
  },
};
