import { compileCommand } from './commands/compile.js';
import { explainCommand } from './commands/explain.js';
import { keygenCommand } from './commands/keygen.js';
import { replayCommand } from './commands/replay.js';
import { serviceCommands } from './commands/services.js';
import { statusCommand } from './commands/status.js';
import { waitCommand } from './commands/wait.js';
import { runCommand, type Command } from './command.js';
import { processIo, type CommandIo, type Env } from './io.js';

/** Every `knp` command, in the order `knp --help` lists them. */
export const COMMANDS: readonly Command[] = [compileCommand, explainCommand, ...serviceCommands, replayCommand, waitCommand, statusCommand, keygenCommand];

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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`knp: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  return runCommand(command, rest, io, env);
}
