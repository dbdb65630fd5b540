import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { loadSigningKey, loadTrustedKeys } from '@knp/shared';
import { repoFile, repoPath, yamlDocuments } from './infra-files.js';

/**
 * The dev stack (infra/docker-compose.yml and its opt-in host-network override): valid Compose files (the
 * Compose Specification's JSON schema, and `docker-compose config -q` where installed), and what the stack
 * promises: every service in place, appliers confined to their own network namespaces with NET_ADMIN and
 * NET_RAW only, each knp service with its own NATS user and only its secrets, and secrets that load.
 */
type Service = {
  image?: string; command?: string[]; user?: string; restart?: string; profiles?: string[]; network_mode?: string; pid?: string; ipc?: string; privileged?: boolean; read_only?: boolean;
  cap_add?: string[]; cap_drop?: string[]; ports?: unknown[]; volumes?: string[]; secrets?: string[]; env_file?: string[];
  environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>;
};
type Compose = { services: Record<string, Service>; secrets?: Record<string, { file: string }>; volumes?: Record<string, unknown> };

const ROLES = ['init', 'watcher', 'compiler', 'applier', 'operator'];
const schema = JSON.parse(readFileSync(repoPath('node_modules/dclint/schemas/compose.schema.json'), 'utf8')) as Record<string, unknown>;
delete schema.$schema; // draft-07 is ajv's own; the key names a meta-schema ajv 8 does not bundle under that URL
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validateCompose = ajv.compile(schema);

const read = (file: string): Compose => yamlDocuments(repoFile(file), file)[0] as Compose;
const base = read('infra/docker-compose.yml');
const hostNet = read('infra/docker-compose.host-network.yml');
const knpServices = Object.entries(base.services).filter(([, s]) => s.image?.startsWith('${KNP_IMAGE'));
const appliers = knpServices.filter(([, s]) => s.command?.[0] === 'applier');

const Files = suite('infra/docker-compose*.yml');
for (const file of ['infra/docker-compose.yml', 'infra/docker-compose.host-network.yml'])
  Files(`${file} is valid against the Compose Specification schema`, () => {
    const ok = validateCompose(read(file));
    assert.ok(ok, JSON.stringify(validateCompose.errors?.slice(0, 5)));
  });
Files('the stack: NATS, the API stand-in, init once, the watcher, two compilers, one applier per example node', () => {
  assert.equal(Object.keys(base.services).sort(), ['applier-node-1', 'applier-node-2', 'compiler-1', 'compiler-2', 'init', 'knp', 'nats', 'standin', 'watcher']);
  assert.equal(Object.fromEntries(knpServices.map(([name, s]) => [name, s.command?.[0]])), {
    standin: 'standin', init: 'init', watcher: 'watcher', 'compiler-1': 'compiler', 'compiler-2': 'compiler', 'applier-node-1': 'applier', 'applier-node-2': 'applier', knp: 'status',
  });
  assert.equal(base.services.knp!.profiles, ['tools'], 'the operator service runs only when asked');
  const exampleNodes = [...new Set([...repoFile('examples/pods.yaml').matchAll(/nodeName: ([a-z0-9-]+)/g)].map((m) => m[1]))].sort();
  assert.equal(appliers.map(([, s]) => s.environment?.KNP_NODE_NAME).sort(), exampleNodes);
});
Files('nothing in the dev stack reaches this machine: no host network, pid, ipc, privilege or published port', () => {
  for (const [name, s] of Object.entries(base.services)) {
    assert.is(s.network_mode, undefined, name);
    assert.ok(s.pid === undefined && s.ipc === undefined && s.privileged === undefined && s.ports === undefined, name);
    for (const v of s.volumes ?? []) assert.ok(!v.startsWith('/'), `${name} mounts a host path: ${v}`);
  }
});
Files('appliers: root with NET_ADMIN and NET_RAW only; every other knp service the image\'s unprivileged user', () => {
  for (const [name, s] of appliers) {
    assert.equal([s.user, s.cap_drop, s.cap_add?.slice().sort(), s.read_only], ['0:0', ['ALL'], ['NET_ADMIN', 'NET_RAW'], true], name);
    assert.ok(s.volumes?.some((v) => /^applier-[a-z0-9-]+-state:\/var\/lib\/knp$/.test(v)), `${name} keeps its state in a volume of its own`);
  }
  for (const [name, s] of knpServices.filter(([, s]) => s.command?.[0] !== 'applier'))
    assert.ok(s.user === undefined && s.cap_add === undefined && s.read_only === true, name);
});
Files('each knp service: its own NATS user, that role\'s password file, and only secrets it names', () => {
  for (const [name, s] of knpServices.filter(([, s]) => s.command?.[0] !== 'standin')) {
    const env = s.environment ?? {};
    const role = env.KNP_NATS_USER ?? '';
    assert.ok(ROLES.includes(role), `${name}: KNP_NATS_USER ${role}`);
    assert.is(role, s.command?.[0] === 'status' ? 'operator' : s.command?.[0], `${name} connects as its own role`);
    assert.is(env.KNP_NATS_URL, 'nats://nats:4222');
    const mounted = new Set(s.secrets ?? []);
    for (const [variable, value] of Object.entries(env).filter(([, v]) => v.startsWith('/run/secrets/')))
      assert.ok(mounted.has(value.slice('/run/secrets/'.length)), `${name}: ${variable} names a secret it does not mount`);
    assert.is(base.secrets?.[env.KNP_NATS_PASSWORD_FILE!.slice('/run/secrets/'.length)]?.file, `./dev/secrets/nats-${role}.password`);
  }
  assert.is(base.services.standin!.secrets, undefined, 'the stand-in holds no secret');
});
Files('services start in order: NATS healthy, then init to completion, then the pipeline', () => {
  assert.equal(base.services.init!.depends_on, { nats: { condition: 'service_healthy' } });
  for (const [name, s] of knpServices.filter(([, s]) => !['standin', 'init'].includes(s.command?.[0] ?? '')))
    assert.equal(s.depends_on?.init, { condition: 'service_completed_successfully' }, name);
  assert.is(base.services.init!.restart, 'no', 'init runs once');
});
Files('the watcher reads the stand-in by default, at the address and port the standin service serves', () => {
  const kubeconfig = yamlDocuments(repoFile('infra/dev/standin.kubeconfig'), 'standin.kubeconfig')[0] as { clusters: { cluster: { server: string } }[] };
  const standin = base.services.standin!.command!;
  assert.is(kubeconfig.clusters[0]!.cluster.server, `http://standin:${standin[standin.indexOf('--port') + 1]}`);
  assert.ok(base.services.watcher!.volumes!.includes('${KNP_KUBECONFIG:-./dev/standin.kubeconfig}:/etc/knp/kubeconfig:ro'));
});
Files('the host firewall only through the override: one applier on the host network, its node named by the user', () => {
  assert.equal(Object.entries(hostNet.services).filter(([, s]) => s.network_mode !== undefined).map(([n, s]) => [n, s.network_mode]), [['applier-host', 'host']]);
  const s = hostNet.services['applier-host']!;
  assert.equal([s.user, s.cap_drop, s.cap_add?.slice().sort()], ['0:0', ['ALL'], ['NET_ADMIN', 'NET_RAW']]);
  assert.match(s.environment!.KNP_NODE_NAME!, /^\$\{KNP_HOST_NODE:\?/);
  assert.equal(hostNet.services.nats!.ports, ['127.0.0.1:4222:4222']);
});
Files.run();

const Secrets = suite('infra/dev/make-secrets.sh and the stack on docker-compose');
let dir = '';
Secrets.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'knp-compose-'));
  cpSync(repoPath('infra'), dir, { recursive: true, filter: (src) => !src.includes('/dev/secrets') });
});
Secrets.after(() => rmSync(dir, { recursive: true, force: true }));
const run = (argv: string[], env: Record<string, string> = {}) => spawnSync(argv[0]!, argv.slice(1), { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });

Secrets('makes every secret the stack names, keys that load, passwords for every role; a second run changes nothing', () => {
  const first = run(['sh', 'dev/make-secrets.sh']);
  assert.is(first.status, 0, first.stderr);
  const secrets = join(dir, 'dev/secrets');
  for (const [name, { file }] of Object.entries(base.secrets ?? {})) assert.ok(existsSync(join(dir, file)), `${name}: ${file} not made`);
  assert.is(loadSigningKey(join(secrets, 'watcher.key')).keyId, [...loadTrustedKeys([join(secrets, 'watcher.pub')]).keys()][0]);
  assert.is(loadSigningKey(join(secrets, 'compiler.key')).keyId, [...loadTrustedKeys([join(secrets, 'compiler.pub')]).keys()][0]);
  const natsEnv = readFileSync(join(secrets, 'nats.env'), 'utf8');
  for (const role of ROLES) assert.ok(natsEnv.includes(`NATS_PASSWORD_${role.toUpperCase()}=${readFileSync(join(secrets, `nats-${role}.password`), 'utf8')}\n`), role);
  const conf = repoPath('infra/nats/nats.conf');
  if (existsSync(conf))
    for (const m of readFileSync(conf, 'utf8').matchAll(/\$(NATS_PASSWORD_[A-Z]+)/g)) assert.ok(natsEnv.includes(`${m[1]}=`), `nats.conf reads ${m[1]}, nats.env lacks it`);
  const before = readFileSync(join(secrets, 'watcher.key'), 'utf8') + natsEnv;
  assert.is(run(['sh', 'dev/make-secrets.sh']).status, 0);
  assert.is(readFileSync(join(secrets, 'watcher.key'), 'utf8') + readFileSync(join(secrets, 'nats.env'), 'utf8'), before);
});

const hasDockerCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).status === 0;
Secrets(`docker-compose config -q accepts the stack and the override${hasDockerCompose ? '' : ' (docker-compose not installed: skipped)'}`, () => {
  if (!hasDockerCompose) return;
  const both = ['docker-compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.host-network.yml', 'config', '-q'];
  const alone = run(['docker-compose', '-f', 'docker-compose.yml', 'config', '-q']);
  assert.is(alone.status, 0, alone.stderr);
  const withNode = run(both, { KNP_HOST_NODE: 'node-1' });
  assert.is(withNode.status, 0, withNode.stderr);
  const withoutNode = run(both, { KNP_HOST_NODE: '' });
  assert.is.not(withoutNode.status, 0, 'the override must refuse to run without KNP_HOST_NODE');
  assert.match(withoutNode.stderr, /name the node whose rules this machine enforces/);
});
Secrets.run();
