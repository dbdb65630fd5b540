import type { Family } from '@knp/shared';
import { runCommand, type KernelTarget, type RunResult } from './nft.js';

/** `iptables-restore`, `ip6tables-restore` or `ipset` refused a batch; `line`/`lineText` name the failing line. */
export class IptablesError extends Error {
  override name = 'IptablesError';
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

const RESTORE: Record<Family, string> = { 4: 'iptables-restore', 6: 'ip6tables-restore' };
const SAVE: Record<Family, string> = { 4: 'iptables-save', 6: 'ip6tables-save' };

/** One `iptables-restore --noflush` transaction (ip6tables for family 6); `test` only checks it (`--test`). */
export async function iptablesRestore(family: Family, script: string, target: KernelTarget, opts: { test?: boolean } = {}): Promise<void> {
  const result = await run([RESTORE[family], '--noflush', ...(opts.test ? ['--test'] : [])], target, script);
  // a parse error reads `Error occurred at line: N`, a failed commit `iptables-restore: line N failed`
  if (result.code !== 0) throw batchError(RESTORE[family], script, result, /(?:line (\d+) failed|at line: (\d+))/);
}

/** One `ipset restore` batch. ipset applies it line by line and stops at the first failing line. */
export async function ipsetRestore(script: string, target: KernelTarget): Promise<void> {
  if (script === '') return;
  const result = await run(['ipset', 'restore'], target, script);
  if (result.code !== 0) throw batchError('ipset restore', script, result, /Error in line (\d+)/);
}

/** `iptables-save -t filter` (or ip6tables-save); '' when the table does not exist or the tool is missing. */
export async function iptablesSave(family: Family, target: KernelTarget): Promise<string> {
  const result = await runCommand([SAVE[family], '-t', 'filter'], target).catch(() => undefined);
  if (!result) return '';
  if (result.code !== 0) {
    // a family the kernel has no filter table for holds nothing of ours
    if (/does not exist|Table does not exist|can't initialize/i.test(result.stderr)) return '';
    throw new IptablesError(`${SAVE[family]} failed: ${firstLine(result.stderr)}`, result.stderr);
  }
  return result.stdout;
}

/** `ipset save` of every set (ours are picked out by the caller). */
export async function ipsetSave(target: KernelTarget): Promise<string> {
  const result = await run(['ipset', 'save'], target);
  if (result.code !== 0) throw new IptablesError(`ipset save failed: ${firstLine(result.stderr)}`, result.stderr);
  return result.stdout;
}

/** `ipset list -n`: the names of every set. */
export async function ipsetNames(target: KernelTarget): Promise<string[]> {
  const result = await run(['ipset', 'list', '-n'], target);
  if (result.code !== 0) throw new IptablesError(`ipset list -n failed: ${firstLine(result.stderr)}`, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

async function run(argv: readonly string[], target: KernelTarget, input?: string): Promise<RunResult> {
  try {
    return await runCommand(argv, target, input);
  } catch (err) {
    throw new IptablesError(`cannot run ${argv[0]}: ${err instanceof Error ? err.message : String(err)}`, '', undefined, undefined, { cause: err });
  }
}

function batchError(tool: string, script: string, result: RunResult, linePattern: RegExp): IptablesError {
  const match = linePattern.exec(result.stderr);
  const reason = firstLine(result.stderr) || `exit ${result.code}`;
  if (!match) return new IptablesError(`${tool} rejected the batch: ${reason}`, result.stderr);
  const line = Number(match[1] ?? match[2]);
  const lineText = script.split('\n')[line - 1]?.trim() ?? '';
  return new IptablesError(`${tool} rejected line ${line} (${lineText.slice(0, 200)}): ${reason}`, result.stderr, line, lineText);
}

const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';
