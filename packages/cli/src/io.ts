import { InputError } from '@knp/shared';

/** Where a command writes: injected so commands run in tests without a process. */
export type CommandIo = { readonly out: (text: string) => void; readonly err: (text: string) => void };

export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The environment a command reads its configuration from (process.env in production). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A flag problem: the command prints it with its usage and exits 2. */
export class UsageError extends InputError {
  override name = 'UsageError';
}
