import { runCommand, type Command } from './command.js';
import { processIo, type CommandIo, type Env } from './io.js';

/**
 * Every `knp` command, in the order `knp --help` lists them. Each is loaded only when run, so a short
 * command (`knp wait`, called in loops) never loads the Kubernetes client or the compiler.
 */
export const COMMANDS: readonly { readonly name: string; readonly summary: string; load(): Promise<Command> }[] = [
  { name: 'demo', summary: 'the whole pipeline live on this machine: simulated cluster, real packets, explain, replay', load: async () => (await import('./commands/demo.js')).demoCommand },
  { name: 'compile', summary: 'compile manifests to a node\'s rule set (ir | nft | iptables | ip6tables | ipset)', load: async () => (await import('./commands/compile.js')).compileCommand },
  { name: 'explain', summary: 'explain whether traffic between two pods is allowed, or print the whole matrix', load: async () => (await import('./commands/explain.js')).explainCommand },
  { name: 'init', summary: 'create or update the streams, status bucket and snapshot store on JetStream (idempotent)', load: async () => (await import('./commands/init.js')).initCommand },
  { name: 'watcher', summary: 'list and watch the Kubernetes API and append events to JetStream (service)', load: async () => (await import('./commands/watcher.js')).watcherCommand },
  { name: 'compiler', summary: 'replay the events stream and publish a rule set per node (service; several replicas are safe)', load: async () => (await import('./commands/compiler.js')).compilerCommand },
  { name: 'applier', summary: 'enforce this node\'s rule sets in the kernel (service; KNP_NODE_NAME required)', load: async () => (await import('./commands/applier.js')).applierCommand },
  { name: 'replay', summary: 'rebuild one node\'s rule set from the events stream, as of now or --to-seq S; print or --apply it', load: async () => (await import('./commands/replay.js')).replayCommand },
  { name: 'wait', summary: 'wait until the pipeline is synced (--synced [--after-rv RV] [--timeout S]); exit 0, 1 timeout, 2 error', load: async () => (await import('./commands/wait.js')).waitCommand },
  { name: 'status', summary: 'the watcher, compilers and nodes: desired vs applied versions, lag, heartbeats, errors (--json)', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'history', summary: 'each version of a node\'s rule set and what changed, or every node at a past time', load: async () => (await import('./commands/history.js')).historyCommand },
  { name: 'standin', summary: 'serve manifests (default examples/) as a read-only Kubernetes API for list and watch, without a cluster', load: async () => (await import('./commands/standin.js')).standinCommand },
  { name: 'keygen', summary: 'make an Ed25519 key pair for signing events, rule sets and snapshots (--out DIR)', load: async () => (await import('./commands/keygen.js')).keygenCommand },
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: knp <command> [flags]   (knp <command> --help for its flags)\ncommands:\n${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n`;
}

/** `knp <command> ...`: the exit code. */
export async function main(argv: readonly string[], io: CommandIo = processIo, env: Env = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.err(`knp: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  return runCommand(await entry.load(), rest, io, env);
}
