import { spawn } from 'node:child_process';

/** Where kernel commands run: the current network namespace, or a named one (KNP_NETNS, tests, demo). */
export type KernelTarget = { readonly netns?: string | undefined; readonly timeoutMs?: number };

/** `nft` refused a script or a command. `line` and `lineText` name the first failing line of the script. */
export class NftError extends Error {
  override name = 'NftError';
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
      reject(new NftError(`cannot run ${full[0]}: ${e.message}`, '', undefined, undefined, { cause: e }));
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

/** Loads a script in one transaction (`nft -f -`), or only checks it (`nft -c -f -`). */
export async function nftLoad(script: string, target: KernelTarget, opts: { check?: boolean } = {}): Promise<void> {
  const result = await runCommand(['nft', ...(opts.check ? ['-c'] : []), '-f', '-'], target, script);
  if (result.code !== 0) throw scriptError(script, result);
}

/** The table as nft lists it in JSON, or undefined when it does not exist. */
export async function nftListTable(family: string, table: string, target: KernelTarget): Promise<unknown> {
  const result = await runCommand(['nft', '-j', 'list', 'table', family, table], target);
  if (result.code !== 0) {
    if (/No such file or directory/.test(result.stderr)) return undefined;
    throw new NftError(`nft list table ${family} ${table} failed: ${firstLine(result.stderr)}`, result.stderr);
  }
  return JSON.parse(result.stdout) as unknown;
}

/** Deletes the table if present. */
export async function nftDeleteTable(family: string, table: string, target: KernelTarget): Promise<void> {
  await nftLoad(`table ${family} ${table} {}\ndelete table ${family} ${table}\n`, target);
}

function scriptError(script: string, result: RunResult): NftError {
  // nft reports `/dev/stdin:LINE:COL-COL: Error: reason`, then the line and a caret
  const match = /^[^\n:]*:(\d+):[\d-]+: Error: (.*)$/m.exec(result.stderr);
  if (!match) return new NftError(`nft rejected the script: ${firstLine(result.stderr) || `exit ${result.code}`}`, result.stderr);
  const line = Number(match[1]);
  const lineText = script.split('\n')[line - 1]?.trim() ?? '';
  return new NftError(`nft rejected line ${line} (${lineText.slice(0, 200)}): ${match[2]}`, result.stderr, line, lineText);
}

const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';
