import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { KNP, knp, namespacesOfProcess, strayNamespaces } from '@knp/sim';

/** The checkout bin/knp runs from (it resolves symlinks, so this does too). */
const REPO = realpathSync(dirname(dirname(KNP)));

/**
 * `knp demo`, the README's first command, as a user runs it: to completion with every measured matrix equal
 * to explain's, and removing everything it started, also when interrupted with Ctrl-C.
 */
const Demo = suite('knp demo');

/** Namespaces no live run owns, new since `before`: what the demo left behind (other processes' runs come and go meanwhile). */
const leftSince = (before: readonly string[]): string[] => strayNamespaces().filter((n) => !before.includes(n));
const ourProcesses = (): string => {
  try {
    // this checkout's services only: other checkouts on the machine run their own
    return execFileSync('pgrep', ['-af', `${REPO.replace(/[.[\]()*+?^$|\\]/g, '\\$&')}/packages/cli/dist/src/bin.js (watcher|compiler|applier)`], { encoding: 'utf8' });
  } catch {
    return '';
  }
};

Demo('runs to completion: the matrices measured on real packets equal knp explain\'s, and nothing is left behind', async () => {
  const before = strayNamespaces();
  const r = await knp(['demo'], { PATH: process.env.PATH ?? '' });
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (let n = 1; n <= 8; n++) assert.match(r.stdout, `== ${n}/8`);
  assert.match(r.stdout, "every measured matrix equals knp explain's");
  assert.is((r.stdout.match(/measured = explain/g) ?? []).length, 3);
  assert.match(r.stdout, /ingress of backend\/api-\d \(node node-\d\): denied by ClusterNetworkPolicy incident-isolate-web ingress\[0\] \(admin tier, priority 10, Deny\)/, 'the Admin Deny, explained');
  assert.match(r.stdout, /API write -> rule set in the kernel: node-1 \d+ ms/);
  assert.match(r.stdout, /node-1\s+\d+\s+\d+\s+0\s+\S+ ago\s+in sync/);
  assert.not.match(r.stdout + r.stderr, /^\s+at .*:\d+:\d+\)?$/m, 'no stack trace');
  assert.equal(leftSince(before), []);
  assert.is(ourProcesses(), '');
});

Demo('Ctrl-C removes every namespace and process it started', async () => {
  const before = strayNamespaces();
  const child = spawn(KNP, ['demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  // read stderr too: a full pipe would block the demo's writes, and what it says there explains a stall
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no step 3 in 60 s:\n${out}\n--- stderr (last 4000 characters)\n${err.slice(-4000)}`)), 60_000);
    child.stdout.on('data', () => out.includes('== 3/8') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the demo exited (${code}) before step 3:\n${out}\n--- stderr\n${err.slice(-4000)}`))));
  });
  assert.ok(namespacesOfProcess(child.pid!).length > 0, 'the demo had made its namespaces');
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.kill('SIGINT');
  });
  assert.is(code, 130);
  assert.equal(leftSince(before), []);
  assert.is(ourProcesses(), '');
});

Demo.run();
