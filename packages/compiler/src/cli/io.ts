/** Where a command writes: injected so commands are testable without a process. */
export type CommandIo = { readonly out: (text: string) => void; readonly err: (text: string) => void };

export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** A flag problem: the command prints it with usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
