import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../src/main.js';

/**
 * Every command answers bad input with a clear message and exit 2: never a stack trace, never a hang.
 * Each run has a 20 s limit; a line that looks like a stack frame fails the test.
 */
const Bad = suite('bad input at the command line');
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(join(root, 'bin/knp'), args, { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '', KNP_NATS_URL: 'nats://127.0.0.1:1', ...env } });
const STACK = /^\s+at .*:\d+:\d+\)?$/m;

let dir = '';
Bad.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'knp-bad-'));
  let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
  for (let i = 1; i < 10; i++) bomb += `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]\n`;
  writeFileSync(join(dir, 'bomb.yaml'), bomb);
  writeFileSync(join(dir, 'binary.yaml'), Buffer.from([0, 1, 2, 255, 254]));
  writeFileSync(join(dir, 'broken.json'), '{"kind": "Pod",');
  writeFileSync(join(dir, 'empty.yaml'), '');
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.yaml'));
  symlinkSync(join(dir, 'loop-b.yaml'), join(dir, 'loop-a.yaml'));
  symlinkSync(join(dir, 'loop-a.yaml'), join(dir, 'loop-b.yaml'));
  spawnSync('mkfifo', [join(dir, 'fifo.yaml')]);
  symlinkSync('/dev/zero', join(dir, 'device.yaml'));
  mkdirSync(join(dir, 'folder'));
  symlinkSync(join(dir, 'folder'), join(dir, 'folder', 'self'));
  writeFileSync(join(dir, 'folder', 'ns.yaml'), 'kind: Namespace\nmetadata: {name: a}\n');
  writeFileSync(join(dir, 'big.yaml'), `kind: Namespace\nmetadata: {name: a, labels: {x: "${'y'.repeat(60)}"}}\n`);
});
Bad.after(() => rmSync(dir, { recursive: true, force: true }));

const failures: Array<[name: string, file: string, message: RegExp]> = [
  ['a YAML alias bomb', 'bomb.yaml', /bomb\.yaml: document 1: Excessive alias count/],
  ['a binary file', 'binary.yaml', /binary\.yaml: a binary file/],
  ['broken JSON', 'broken.json', /broken\.json: not JSON/],
  ['a dangling symlink named on the command line', 'dangling.yaml', /dangling\.yaml: no such file \(or a dangling link\)/],
  ['a symlink loop named on the command line', 'loop-a.yaml', /loop-a\.yaml: a loop of symbolic links/],
];
for (const command of ['compile', 'explain'])
  for (const [name, file, message] of failures)
    Bad(`knp ${command} with ${name}: exit 2, one clear line`, () => {
      const args = command === 'compile' ? ['compile', '--manifests', join(dir, file), '--node', 'n'] : ['explain', '--manifests', join(dir, file), '--all-pairs', '--port', '80'];
      const r = run(args);
      assert.is(r.error, undefined, 'it did not hang');
      assert.is(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.not.match(r.stdout + r.stderr, STACK);
    });

Bad('a FIFO, a device, an empty file, a folder linking to itself, dangling links and loops in a folder: skipped or empty, no hang', () => {
  for (const file of ['fifo.yaml', 'device.yaml', 'empty.yaml', 'folder']) {
    const r = run(['compile', '--manifests', join(dir, file), '--node', 'n']);
    assert.is(r.error, undefined, `${file}: it did not hang`);
    assert.is(r.status, 0, `${file}: ${r.stderr}`);
    assert.not.match(r.stderr, STACK);
  }
  assert.match(run(['compile', '--manifests', join(dir, 'fifo.yaml'), '--node', 'n']).stderr, /fifo\.yaml: not a regular file \(a FIFO\)/);
  assert.match(run(['compile', '--manifests', join(dir, 'device.yaml'), '--node', 'n']).stderr, /device\.yaml: not a regular file \(a device\)/);
});

Bad('more than KNP_MAX_MANIFEST_BYTES is refused with a clear message; a bad limit is a configuration problem', () => {
  const r = run(['compile', '--manifests', join(dir, 'big.yaml'), '--node', 'n'], { KNP_MAX_MANIFEST_BYTES: '20' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /more than KNP_MAX_MANIFEST_BYTES \(20\)/);
  const bad = run(['compile', '--manifests', join(dir, 'big.yaml'), '--node', 'n'], { KNP_MAX_MANIFEST_BYTES: 'lots' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /KNP_MAX_MANIFEST_BYTES: "lots" must be an integer/);
});

Bad('every command answers --help with its usage and exit 0, and an unknown flag with exit 2 and its usage', async () => {
  for (const entry of COMMANDS) {
    const usage = (await entry.load()).usage.split('\n')[0]!;
    const help = run([entry.name, '--help']);
    assert.is(help.status, 0, `${entry.name} --help: ${help.stderr}`);
    assert.ok(help.stdout.includes(usage), `${entry.name} --help prints its usage`);
    const unknown = run([entry.name, '--no-such-flag']);
    assert.is(unknown.status, 2, `${entry.name} --no-such-flag: ${unknown.stdout}${unknown.stderr}`);
    assert.not.match(unknown.stderr, STACK);
  }
});

Bad('every command that connects refuses bad NATS settings before connecting: exit 2 naming the variable, no secret', () => {
  const connecting: string[][] = [
    ['init'], ['status'], ['wait', '--synced', '--timeout', '1'], ['replay', '--node', 'n'], ['explain', '--all-pairs', '--port', '80'],
    ['history', '--node', 'n'], ['watcher'], ['compiler'], ['applier'],
  ];
  const env = { KNP_NODE_NAME: 'n', KNP_NATS_URL: 'nats://knp:hunter2@127.0.0.1:1', KNP_NATS_TOKEN_FILE: join(dir, 'no-token') };
  for (const args of connecting) {
    const r = run(args, env);
    assert.is(r.error, undefined, `${args[0]}: it did not hang`);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /KNP_NATS_TOKEN_FILE: ".*no-token" is not a readable file/, args[0]);
    assert.not.match(r.stdout + r.stderr, /hunter2/, `${args[0]} printed the password`);
    assert.not.match(r.stderr, STACK);
  }
});

Bad('--prefix that could reach rule text is refused', () => {
  const r = run(['compile', '--manifests', join(root, 'examples'), '--node', 'node-1', '--format', 'nft', '--prefix', 'x;y']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--prefix "x;y": 1-8 of a-z0-9/);
});

Bad('a --format that names an Object property is refused, not looked up', () => {
  for (const format of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    const r = run(['compile', '--manifests', join(root, 'examples'), '--node', 'node-1', '--format', format]);
    assert.is(r.status, 2, `${format}: ${r.stdout.slice(0, 80)}`);
    assert.match(r.stderr, /expected ir or one of nft\|ipset\|iptables\|ip6tables/);
  }
});

Bad.run();
