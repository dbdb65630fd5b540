import { execFile, execFileSync } from 'node:child_process';

/** A command failed; the message carries the command line and its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** Runs a command (no shell), resolving with stdout; rejects with the command and its stderr. */
export function sh(argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(`${argv.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The same, synchronously, for exit handlers; never throws. */
export function shQuiet(argv: readonly string[]): void {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort during cleanup
  }
}

/** `ip netns exec <ns> ...argv`, feeding `input` on stdin when given. */
export const inNetns = (netns: string, argv: readonly string[], input?: string): Promise<string> => sh(['ip', 'netns', 'exec', netns, ...argv], input);
