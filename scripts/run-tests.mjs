#!/usr/bin/env node
// Runs every compiled uvu test file (packages/*/dist/test and test/dist), one process per file so a
// real-kernel or NATS fixture never leaks into the next file. Prints a final "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FILE_TIMEOUT_MS = Number(process.env.KNP_TEST_FILE_TIMEOUT_S ?? 420) * 1000;
const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.js') ? [path] : [];
  });
}

const files = [
  ...readdirSync(join(root, 'packages')).flatMap((p) => walk(join(root, 'packages', p, 'dist', 'test'))),
  ...walk(join(root, 'test', 'dist')),
].filter((f) => !filter || filter.test(f)).sort();

let passed = 0, failed = 0, badFiles = [];
for (const file of files) {
  const name = relative(root, file);
  // a hung file (a fixture waiting forever) fails on its own instead of stalling the whole run
  const result = spawnSync(process.execPath, [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' }, timeout: FILE_TIMEOUT_MS, killSignal: 'SIGKILL' });
  process.stdout.write(`\n# ${name}\n${result.stdout}`);
  if (result.error?.code === 'ETIMEDOUT') process.stdout.write(`\n# ${name}: killed after ${FILE_TIMEOUT_MS / 1000} s\n`);
  const total = Number(/Total:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  // uvu exits 0 when a `before` hook throws (it prints "(0 / N)"): a file is failing whenever a test did not pass
  if (result.status !== 0 || total === 0 || ok < total) { badFiles.push(name); if (total === ok) failed += 1; }
}
if (badFiles.length) process.stdout.write(`\nfailing files:\n  ${badFiles.join('\n  ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
