import { InputError } from '@knp/shared';
import { UsageError, type CommandIo, type Env } from './io.js';

/** One `knp <name>` command: its usage text, and a run that returns the exit code. */
export type Command = {
  readonly name: string;
  readonly usage: string;
  run(argv: readonly string[], io: CommandIo, env: Env): Promise<number>;
};

/** `node:util` parseArgs reports unknown or malformed flags with these codes. */
const isFlagError = (err: unknown): boolean => /^ERR_PARSE_ARGS_/.test(String((err as { code?: unknown })?.code ?? ''));

/**
 * Runs a command: `--help` prints its usage (exit 0); bad flags print the problem and the usage (exit 2);
 * bad input (a manifest, a pod name, the configuration) prints one line (exit 2); anything else is a
 * failure of knp (exit 1), printed as one line too (its stack only with KNP_LOG_LEVEL=debug).
 */
export async function runCommand(command: Command, argv: readonly string[], io: CommandIo, env: Env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(argv, io, env);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof UsageError || isFlagError(err)) {
      io.err(`knp ${command.name}: ${message}\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof InputError) {
      io.err(`knp ${command.name}: ${message}\n`);
      return 2;
    }
    io.err(`knp ${command.name}: failed: ${message}\n`);
    if (env.KNP_LOG_LEVEL === 'debug' || env.KNP_LOG_LEVEL === 'trace') io.err(`${(err as Error)?.stack ?? ''}\n`);
    return 1;
  }
}
