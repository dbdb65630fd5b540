#!/usr/bin/env node
// Runs every compiled uvu test file (packages/*/dist/test and test/dist), one process per file so a
// real-kernel or NATS fixture never leaks into the next file. Prints a final "N passed, N failed" line.
// Usage: node scripts/run-tests.mjs [REGEX]   (REGEX filters the files by their path relative to the repository)
// KNP_TEST_JOBS (default 2): files run at once. Most files wait on kernels, NATS and child processes rather
// than on the CPU, and every fixture is private to its file (own nats-server on a free port, own network
// namespaces named by pid or run id, own temp dirs), so two at a time on 2 cores cut the wall time without
// sharing state. Files in EXCLUSIVE run alone: they hold a host-wide resource (the xtables lock file is one
// per host, not per network namespace), look at the whole host (the demo checks that no namespace or
// service process is left anywhere) or measure recovery under kills.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FILE_TIMEOUT_MS = Number(process.env.KNP_TEST_FILE_TIMEOUT_S ?? 420) * 1000;
const LINGER_MS = 30_000;
const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.js') ? [path] : [];
  });
}

/**
 * Runs one file in its own process group. A hung file (a fixture waiting forever) is killed after the
 * timeout, and so is everything it started (services, nats-servers, agents) when it ends either way:
 * a killed file never runs its `after` hooks. A file still running LINGER_MS after uvu's summary is killed
 * then and counted as failing, rather than holding its lane until the timeout.
 */
function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' }, detached: true });
    const chunks = [];
    let timedOut = false, lingered = false, lingerTimer;
    const killGroup = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } };
    child.stdout.on('data', (b) => {
      chunks.push(b);
      // uvu prints "Duration:" once every suite and its `after` hooks are done: a file still running long
      // after that holds something its hooks did not stop (a server from a half-finished set-up)
      if (lingerTimer === undefined && /Duration:/.test(b.toString('utf8'))) {
        lingerTimer = setTimeout(() => { lingered = true; killGroup(); }, LINGER_MS);
      }
    });
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, FILE_TIMEOUT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      clearTimeout(lingerTimer);
      killGroup();
      resolve({ status, timedOut, lingered, stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

const files = [
  ...readdirSync(join(root, 'packages')).flatMap((p) => walk(join(root, 'packages', p, 'dist', 'test'))),
  ...walk(join(root, 'test', 'dist')),
].filter((f) => !filter || filter.test(relative(root, f))).sort();

const JOBS = Math.max(1, Number(process.env.KNP_TEST_JOBS ?? 2) || 1);
const EXCLUSIVE = [/xtables-lock\.test\.js$/, /faults\.test\.js$/, /demo\.test\.js$/];
// the longest files start first so the two lanes end together (from the suite's timings; unknown files after)
const LONG_FIRST = [/e2e-pipeline/, /faults/, /conformance-(nft|iptables)/, /jetstream-cluster/, /nats-roles/, /event-trust/, /demo/, /hostile-live/, /backend-switch/];
const weight = (f) => { const i = LONG_FIRST.findIndex((re) => re.test(f)); return i < 0 ? LONG_FIRST.length : i; };
const exclusive = (f) => EXCLUSIVE.some((re) => re.test(f));

let passed = 0, failed = 0;
const badFiles = [];
function report(file, started, result) {
  const name = relative(root, file);
  process.stdout.write(`\n# ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n${result.stdout}`);
  if (result.timedOut) process.stdout.write(`\n# ${name}: killed after ${FILE_TIMEOUT_MS / 1000} s\n`);
  if (result.lingered) process.stdout.write(`\n# ${name}: killed ${LINGER_MS / 1000} s after its tests ended: something it started was still running\n`);
  const total = Number(/Total:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  // uvu exits 0 when a `before` hook throws (it prints "(0 / N)"): a file is failing whenever a test did not pass
  if (result.status !== 0 || total === 0 || ok < total) { badFiles.push(name); if (total === ok) failed += 1; }
}

async function runOne(file) {
  const started = Date.now();
  report(file, started, await runFile(file));
}

const shared = files.filter((f) => !exclusive(f)).sort((a, b) => weight(a) - weight(b) || (a < b ? -1 : 1));
const queue = [...shared];
await Promise.all(Array.from({ length: Math.min(JOBS, queue.length) }, async () => {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runOne(file);
}));
for (const file of files.filter(exclusive)) await runOne(file);
if (badFiles.length) process.stdout.write(`\nfailing files:\n  ${badFiles.join('\n  ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
