import type { Family } from '@knp/shared';
import { KernelCommandError, batchError, firstLine, runCommand, type KernelTarget, type RunResult } from './run.js';

/** `iptables-nft-restore`, `ip6tables-legacy-save`, ...: the tool of a family and the target's variant. */
export function iptablesTool(family: Family, tool: 'save' | 'restore', target: KernelTarget): string {
  return `${family === 4 ? 'iptables' : 'ip6tables'}${target.iptables ? `-${target.iptables}` : ''}-${tool}`;
}

/**
 * Seconds `iptables-restore` waits for the xtables lock (/run/xtables.lock) that kube-proxy, the kubelet and
 * other agents take on iptables-legacy hosts. Without `-w` iptables-restore does not take the lock at all,
 * so two writers replacing the legacy table at once can lose each other's changes. iptables-nft accepts
 * the flag and needs no lock. We never hold the lock ourselves; the child waits for it.
 */
export const XTABLES_WAIT_S = 5;

/** One `iptables-restore --noflush` transaction (ip6tables for family 6); `test` only checks it (`--test`). */
export async function iptablesRestore(family: Family, script: string, target: KernelTarget, opts: { test?: boolean } = {}): Promise<void> {
  const tool = iptablesTool(family, 'restore', target);
  const result = await runCommand([tool, '-w', String(XTABLES_WAIT_S), '--noflush', ...(opts.test ? ['--test'] : [])], target, script);
  // a parse error reads `Error occurred at line: N`, a failed commit `iptables-restore: line N failed`
  if (result.code !== 0) throw refused(tool, script, result, /(?:line (\d+) failed|at line: (\d+))/);
}

/** One `ipset restore` batch. ipset applies it line by line and stops at the first failing line. */
export async function ipsetRestore(script: string, target: KernelTarget): Promise<void> {
  if (script === '') return;
  const result = await runCommand(['ipset', 'restore'], target, script);
  if (result.code !== 0) throw refused('ipset restore', script, result, /Error in line (\d+)/);
}

/** `iptables-save -t filter` (or ip6tables-save); '' when the table does not exist or the tool is missing. */
export async function iptablesSave(family: Family, target: KernelTarget): Promise<string> {
  const tool = iptablesTool(family, 'save', target);
  const result = await runCommand([tool, '-t', 'filter'], target).catch(() => undefined);
  if (!result) return '';
  if (result.code !== 0) {
    // a family the kernel has no filter table for holds nothing of ours
    if (/does not exist|Table does not exist|can't initialize/i.test(result.stderr)) return '';
    throw new KernelCommandError(`${tool} failed: ${firstLine(result.stderr)}`, result.stderr);
  }
  return result.stdout;
}

/** `ipset save` of every set (ours are picked out by the caller). */
export async function ipsetSave(target: KernelTarget): Promise<string> {
  const result = await runCommand(['ipset', 'save'], target);
  if (result.code !== 0) throw new KernelCommandError(`ipset save failed: ${firstLine(result.stderr)}`, result.stderr);
  return result.stdout;
}

/** `ipset list -n`: the names of every set. */
export async function ipsetNames(target: KernelTarget): Promise<string[]> {
  const result = await runCommand(['ipset', 'list', '-n'], target);
  if (result.code !== 0) throw new KernelCommandError(`ipset list -n failed: ${firstLine(result.stderr)}`, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

/** ipset says `Error in line N`; iptables-restore `Error occurred at line: N` (parse) or `line N failed` (commit). */
function refused(tool: string, script: string, result: RunResult, linePattern: RegExp): KernelCommandError {
  const match = linePattern.exec(result.stderr);
  const line = match ? Number(match[1] ?? match[2]) : undefined;
  return batchError(tool, script, result.stderr, line, firstLine(result.stderr) || `exit ${result.code}`);
}
