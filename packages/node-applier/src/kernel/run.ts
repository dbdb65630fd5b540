import type { IptablesVariant } from '../iptables-variant.js';
import { spawn } from 'node:child_process';

/**
 * Where kernel commands run: the current network namespace, or a named one (KNP_NETNS, tests, demo); and
 * which iptables client programs it (`iptables-nft-*` or `iptables-legacy-*`; unset: the system's default).
 */
export type KernelTarget = { readonly netns?: string | undefined; readonly timeoutMs?: number; readonly iptables?: IptablesVariant | undefined };

/**
 * A kernel tool (`nft`, `iptables-restore`, `ipset`, ...) could not run or refused a batch; `line` and
 * `lineText` name the first failing line of the batch when the tool says which. The previous rules stay.
 */
export class KernelCommandError extends Error {
  override name = 'KernelCommandError';
  constructor(
    message: string,
    readonly stderr: string,
    readonly line?: number,
    readonly lineText?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type RunResult = { readonly code: number | null; readonly stdout: string; readonly stderr: string };

/** Runs a command (inside `ip netns exec <netns>` when a namespace is named), feeding `input` on stdin. */
export function runCommand(argv: readonly string[], target: KernelTarget, input?: string): Promise<RunResult> {
  const full = target.netns ? ['ip', 'netns', 'exec', target.netns, ...argv] : [...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), target.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new KernelCommandError(`cannot run ${full[0]}: ${e.message}`, '', undefined, undefined, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // a child that exits before reading all of stdin raises EPIPE here; its exit status tells the story
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}


/** The first line of a tool's stderr: its reason. */
export const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';

/** The error for a refused batch, naming its failing line when the tool said which. */
export function batchError(tool: string, script: string, stderr: string, line: number | undefined, reason: string): KernelCommandError {
  if (line === undefined || !Number.isInteger(line)) return new KernelCommandError(`${tool} rejected the batch: ${reason}`, stderr);
  const lineText = script.split('\n')[line - 1]?.trim() ?? '';
  return new KernelCommandError(`${tool} rejected line ${line} (${lineText.slice(0, 200)}): ${reason}`, stderr, line, lineText);
}
