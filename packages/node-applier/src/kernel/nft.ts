import { KernelCommandError, batchError, firstLine, runCommand, type KernelTarget } from './run.js';

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
    throw new KernelCommandError(`nft list table ${family} ${table} failed: ${firstLine(result.stderr)}`, result.stderr);
  }
  return JSON.parse(result.stdout) as unknown;
}

/** Deletes the table if present. */
export async function nftDeleteTable(family: string, table: string, target: KernelTarget): Promise<void> {
  await nftLoad(nftDeleteTableScript(family, table), target);
}

/** Deletes the table if present, in one transaction (nft 1.0.6 has no `destroy table`). */
export const nftDeleteTableScript = (family: string, table: string): string => `table ${family} ${table} {}\ndelete table ${family} ${table}\n`;

function scriptError(script: string, result: { code: number | null; stderr: string }): KernelCommandError {
  // nft reports `/dev/stdin:LINE:COL-COL: Error: reason`, then the line and a caret
  const match = /^[^\n:]*:(\d+):[\d-]+: Error: (.*)$/m.exec(result.stderr);
  return batchError('nft', script, result.stderr, match ? Number(match[1]) : undefined, match?.[2] ?? (firstLine(result.stderr) || `exit ${result.code}`));
}
