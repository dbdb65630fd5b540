import { parseArgs } from 'node:util';
import { createLogger, loadConfig, loadTogether, type Logger, type RuleSet } from '@knp/shared';
import { replayNode } from '@knp/compiler/service';
import { Applier, ApplyError, createBackend, loadKernelSettings, KERNEL_FORMATS, parseFormat, renderers, type KernelSettings } from '@knp/node-applier';
import { connectNats } from '@knp/shared/nats';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';
import { operatorSigning } from '../live-state.js';

const USAGE = `usage: knp replay --node NAME [--to-seq S] [--from-start] [--format ir|nft|iptables|ip6tables|ipset] [--apply]

Rebuilds a node's rule set from the events stream alone: the newest snapshot at or before S plus the events
after it (or every event with --from-start), as of now or as of stream sequence S. Prints it, or with
--apply loads it into this machine's kernel through the node applier core (KNP_BACKEND, KNP_NETNS).
Environment: KNP_NATS_URL, KNP_PREFIX, KNP_BACKEND, KNP_NETNS, KNP_TRUSTED_WATCHER_KEYS and KNP_TRUSTED_COMPILER_KEYS
(fold only signed events and load only signed snapshots, as a compiler does). Exit 0 done, 1 the kernel refused, 2 bad input.`;

/** Loads a rule set into this machine's kernel through the applier core; the one-line outcome. */
async function applyRuleSet(ruleSet: RuleSet, kernel: KernelSettings, prefix: string, log: Logger): Promise<string> {
  const outcome = await new Applier(createBackend(kernel, prefix, log), { log }).apply(ruleSet);
  return `${ruleSet.node}: ${outcome.kind} version ${ruleSet.version.seq} hash ${ruleSet.contentHash} (${kernel.backend})`;
}

/** `knp replay`: prints (or applies) one node's rule set rebuilt from the stream. */
export const replayCommand: Command = {
  name: 'replay',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        node: { type: 'string' },
        'to-seq': { type: 'string' },
        'from-start': { type: 'boolean' },
        format: { type: 'string', default: 'ir' },
        apply: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.node) throw new UsageError('--node is required');
    const toSeqText = values['to-seq'];
    if (toSeqText !== undefined && !/^[1-9]\d{0,15}$/.test(toSeqText)) throw new UsageError(`--to-seq ${JSON.stringify(toSeqText)}: expected a stream sequence (1, 2, ...)`);
    const format = parseFormat(values.format!);
    if (format === undefined) throw new UsageError(`--format ${JSON.stringify(values.format)}: expected ir or one of ${KERNEL_FORMATS.join('|')}`);
    // the kernel settings matter only to --apply; read together, one run lists every problem
    const [config, kernel] = loadTogether(() => loadConfig(env), () => (values.apply ? loadKernelSettings(env) : undefined));
    const log = createLogger('replay', config.logLevel === 'info' ? 'warn' : config.logLevel, 2); // stdout carries the rule set
    const signing = operatorSigning(env, log);
    const nc = await connectNats(config.nats, 'operator', { name: 'knp-replay' });
    try {
      const replayed = await replayNode(nc, config.prefix, values.node, { ...(toSeqText ? { toSeq: Number(toSeqText) } : {}), fromStart: values['from-start'] ?? false, signing, log });
      const { ruleSet } = replayed;
      const refused = replayed.input.refused > 0 ? `, ${replayed.input.refused} events refused` : '';
      io.err(`replayed ${values.node}: snapshot ${replayed.snapshotSeq}, folded to ${replayed.foldedSeq}${refused}, version ${ruleSet.version.seq} (${replayed.versionFrom}), hash ${ruleSet.contentHash}\n`);
      if (kernel) {
        try {
          io.out(`${await applyRuleSet(ruleSet, kernel, config.prefix, log)}\n`);
          return 0;
        } catch (err) {
          if (!(err instanceof ApplyError)) throw err;
          io.err(`knp replay: --apply failed: ${err.message}\n`);
          return 1;
        }
      }
      io.out(format === 'ir' ? `${JSON.stringify(ruleSet, null, 2)}\n` : renderers.get(format)!(ruleSet, config.prefix));
      return 0;
    } finally {
      await nc.close();
    }
  },
};
