import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { devNodeVersion, repoFile, repoRoot } from './infra-files.js';

/**
 * The image (infra/Dockerfile), without a container engine: the Dockerfile linted and read for what the
 * deployment relies on, .dockerignore checked against what it copies, and the image's production tree made
 * by the same script on a copy of this checkout, then every command loaded and run from it.
 */
type Instruction = { readonly keyword: string; readonly args: string; readonly line: number };

/** Instructions with continuation lines joined; comments and blank lines dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === undefined && (line === '' || line.startsWith('#'))) return;
    const joined = `${pending?.text ?? ''} ${line.replace(/\\$/, '')}`.trim();
    if (line.endsWith('\\')) return void (pending = { text: joined, line: pending?.line ?? i + 1 });
    const [keyword = '', ...rest] = joined.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending?.line ?? i + 1 });
    pending = undefined;
  });
  return out;
}

/** The stages, each the instructions from its FROM up to the next. */
function stages(all: readonly Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of all) if (ins.keyword === 'FROM') out.push([ins]); else out.at(-1)?.push(ins);
  return out;
}

/** Whether .dockerignore leaves `path` out (the patterns this repository uses: `/x`, `x`, `**​/x`, `*.ext`). */
function ignored(path: string, patterns: readonly string[]): boolean {
  const segments = path.split('/');
  return patterns.some((p) => {
    if (p.startsWith('**/')) return segments.includes(p.slice(3)) || (p.startsWith('**/*.') && path.endsWith(p.slice(4)));
    const rooted = p.replace(/^\//, '');
    if (rooted.includes('*')) return new RegExp(`^${rooted.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`).test(path);
    return path === rooted || path.startsWith(`${rooted}/`);
  });
}

const dockerfile = repoFile('infra/Dockerfile');
const all = instructions(dockerfile);
const [toolchain, build, final] = stages(all) as [Instruction[], Instruction[], Instruction[]];
const argDefault = (name: string): string | undefined => all.find((i) => i.keyword === 'ARG' && i.args.startsWith(`${name}=`))?.args.slice(name.length + 1);
const dockerignore = repoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

const File = suite('infra/Dockerfile');
File('dockerfile-utils finds no problem', () => assert.equal(validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []));
File('three stages: toolchain, build, and the runtime on a slim Debian', () => {
  assert.equal([toolchain, build, final].map((s) => s[0]!.args), ['${DEBIAN_IMAGE} AS toolchain', 'toolchain AS build', '${DEBIAN_IMAGE}']);
  assert.match(argDefault('DEBIAN_IMAGE') ?? '', /^debian:[a-z]+-slim$/);
});
File('Node.js is the version scripts/dev.sh installs, pnpm the one package.json names', () => {
  assert.is(argDefault('NODE_VERSION'), devNodeVersion());
  assert.is(`pnpm@${argDefault('PNPM_VERSION')}`, JSON.parse(repoFile('package.json')).packageManager);
  assert.ok(toolchain.some((i) => i.keyword === 'RUN' && i.args.includes('npm pack --silent "node-linux-${arch}@${NODE_VERSION}"')));
});
File('every workspace package\'s package.json is copied before the install (the lockfile names them all)', () => {
  const copied = build.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(' ')[0]);
  for (const name of readdirSync(join(repoRoot, 'packages')).filter((p) => existsSync(join(repoRoot, 'packages', p, 'package.json'))))
    assert.ok(copied.includes(`packages/${name}/package.json`), `packages/${name}/package.json is not copied`);
});
File('the runtime: nftables, iptables and ipset; production tree; a non-root user; knp as entrypoint', () => {
  const run = final.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  for (const pkg of ['nftables', 'iptables', 'ipset']) assert.match(run, new RegExp(`apt-get install -y --no-install-recommends [a-z0-9 -]*\\b${pkg}\\b`));
  assert.ok(build.some((i) => i.keyword === 'RUN' && i.args === 'production-tree'), 'the build stage runs production-tree');
  assert.equal(final.filter((i) => i.keyword === 'USER').map((i) => i.args), ['10001:10001']);
  assert.equal(final.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => JSON.parse(i.args)), [['/app/bin/knp']]);
  assert.not.ok(final.some((i) => i.keyword === 'COPY' && /node_modules/.test(i.args) && !i.args.startsWith('--from=build')), 'node_modules come from the build stage only');
});
File('.dockerignore leaves out local builds and keeps everything the Dockerfile copies from the context', () => {
  for (const local of ['node_modules', 'packages/cli/node_modules', 'packages/cli/dist', '.tools/node', '.git', 'packages/shared/tsconfig.tsbuildinfo', 'infra/dev/secrets/watcher.key'])
    assert.ok(ignored(local, dockerignore), `${local} is sent to the builder`);
  const sources = all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from=')).flatMap((i) => i.args.split(' ').slice(0, -1));
  assert.ok(sources.length >= 10);
  for (const source of sources) {
    assert.ok(existsSync(join(repoRoot, source)), `${source} does not exist`);
    assert.not.ok(ignored(source, dockerignore), `${source} is copied but .dockerignore leaves it out`);
  }
});
File.run();

const Tree = suite('the image\'s production tree (infra/image/production-tree.sh on a copy of this checkout)');
let dir = '';
Tree.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'knp-image-'));
  for (const path of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'bin', 'examples', 'infra/image'])
    cpSync(join(repoRoot, path), join(dir, path), { recursive: true });
  for (const name of readdirSync(join(repoRoot, 'packages')))
    cpSync(join(repoRoot, 'packages', name), join(dir, 'packages', name), { recursive: true, filter: (src) => !src.includes('/node_modules') });
});
Tree.after(() => rmSync(dir, { recursive: true, force: true }));

const sh = (argv: string[], env: Record<string, string> = {}) => spawnSync(argv[0]!, argv.slice(1), { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });

Tree('production dependencies only, compiled JavaScript only', () => {
  const r = sh(['sh', 'infra/image/production-tree.sh', '--offline']);
  assert.is(r.status, 0, r.stderr + r.stdout);
  const installed = readdirSync(join(dir, 'node_modules', '.pnpm'));
  // (@types/node stays: @kubernetes/client-node lists it among its own dependencies)
  for (const dev of ['typescript@', 'uvu@', 'ajv@', 'dclint@', 'dockerfile-utils@', 'kubernetes-models@'])
    assert.not.ok(installed.some((p) => p.startsWith(dev)), `${dev} is in the production tree`);
  assert.ok(installed.some((p) => p.startsWith('nats@')) && installed.some((p) => p.startsWith('@kubernetes+client-node@')));
  assert.not.ok(existsSync(join(dir, 'packages/testing')) || existsSync(join(dir, 'packages/cli/src')) || existsSync(join(dir, 'packages/cli/dist/test')));
});
Tree('every knp command loads from it, and an offline one runs', () => {
  const load = sh([process.execPath, '--input-type=module', '-e',
    "const m = await import(process.cwd() + '/packages/cli/dist/src/main.js'); for (const c of m.COMMANDS) await c.load(); console.log(m.COMMANDS.length);"]);
  assert.is(load.status, 0, load.stderr);
  assert.ok(Number(load.stdout) >= 10);
  const compile = sh(['bin/knp', 'compile', '--manifests', 'examples', '--node', 'node-1', '--format', 'nft']);
  assert.is(compile.status, 0, compile.stderr);
  assert.match(compile.stdout, /^table inet knp/m);
});
Tree.run();
