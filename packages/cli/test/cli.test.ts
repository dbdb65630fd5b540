import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuleSet } from '@knp/shared';
import { COMMANDS, usage } from '../src/index.js';

/** The offline CLI as a user runs it: bin/knp in a child process, exit codes, stdout and stderr. */
const Cli = suite('knp compile / explain');
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const examples = join(root, 'examples');
const knp = (...args: string[]) => spawnSync(join(root, 'bin/knp'), args, { encoding: 'utf8' });

/** A command's usage text, as `knp <command> --help` prints it. */
const usages = new Map(await Promise.all(COMMANDS.map(async (c) => [c.name, (await c.load()).usage] as const)));
const commandUsage = (name: string): string => usages.get(name)!;

let dir = '';
Cli.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'knp-cli-'));
});
Cli.after(() => rmSync(dir, { recursive: true, force: true }));

Cli('compile prints a node rule set as IR JSON', () => {
  const r = knp('compile', '--manifests', examples, '--node', 'node-1');
  assert.is(r.status, 0, r.stderr);
  const ruleSet = parseRuleSet(r.stdout);
  assert.is(ruleSet.node, 'node-1');
  assert.equal(ruleSet.pods.map((p) => p.pod).sort(), ['backend/api-1', 'frontend/web-1', 'monitoring/prometheus-0']);
});

Cli('compile --all-nodes prints one object keyed by node', () => {
  const r = knp('compile', '--manifests', examples, '--all-nodes');
  assert.is(r.status, 0, r.stderr);
  assert.equal(Object.keys(JSON.parse(r.stdout)), ['node-1', 'node-2']);
});

Cli('a rejected policy is reported on stderr, and the rest compiles with exit 0', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: oops, namespace: backend}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: "10.0.0/8"}}]}]\n');
  const r = knp('compile', '--manifests', examples, '--manifests', bad, '--node', 'node-1');
  assert.is(r.status, 0);
  assert.match(r.stderr, /NetworkPolicy backend\/oops spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: "10\.0\.0\/8" is not a CIDR/);
  assert.ok(parseRuleSet(r.stdout).pods.length > 0);
});

Cli('unreadable input exits 2', () => {
  assert.is(knp('compile', '--manifests', join(dir, 'missing'), '--node', 'n').status, 2);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'kind: Pod\nmetadata: {name: [unclosed\n');
  const r = knp('compile', '--manifests', broken, '--node', 'n');
  assert.is(r.status, 2);
  assert.match(r.stderr, /broken\.yaml/);
});

// [case, argv, the problem stderr must name, the usage whose first line stderr must carry]
const badFlags: Array<[name: string, argv: string[], problem: RegExp, usage: string]> = [
  ['compile without --node or --all-nodes', ['compile', '--manifests', examples], /^knp compile: give exactly one of --node NAME or --all-nodes$/m, commandUsage('compile')],
  ['compile with a flag it does not know', ['compile', '--manifests', examples, '--node', 'node-1', '--nodes'], /^knp compile: .*'--nodes'/m, commandUsage('compile')],
  ['explain with a protocol that is not TCP, UDP or SCTP', ['explain', '--manifests', examples, '--all-pairs', '--port', '80/ICMP'], /^knp explain: --port "80\/ICMP": expected PORT\/PROTOCOL/m, commandUsage('explain')],
  ['explain with --from but no --to', ['explain', '--manifests', examples, '--from', 'frontend/web-1', '--port', '80'], /^knp explain: give --from and --to, or --all-pairs$/m, commandUsage('explain')],
  ['a command knp does not have', ['nonsense'], /^knp: unknown command "nonsense"$/m, usage()],
];
for (const [name, argv, problem, usageText] of badFlags)
  Cli(`${name} exits 2 and prints the problem and the usage on stderr`, () => {
    const r = knp(...argv);
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, problem);
    const usageLine = usageText.split('\n')[0]!;
    assert.ok(usageLine.startsWith('usage: knp '), usageLine);
    assert.ok(r.stderr.split('\n').includes(usageLine), `stderr carries "${usageLine}":\n${r.stderr}`);
    assert.is(r.stdout, '');
  });

Cli('explain answers allowed with the rules on both sides', () => {
  const r = knp('explain', '--manifests', examples, '--from', 'frontend/web-1', '--to', 'backend/api-2', '--port', '9000/tcp');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ALLOWED/);
  assert.match(r.stdout, /allowed by frontend\/web egress\[0\]/);
  assert.match(r.stdout, /allowed by backend\/api ingress\[0\]/);
});

Cli('explain answers denied with exit 0, naming the isolating policies', () => {
  const r = knp('explain', '--manifests', examples, '--from', 'frontend/web-1', '--to', 'database/postgres-0', '--port', '5432/TCP', '--json');
  assert.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.is(e.allowed, false);
  assert.equal(e.ingress.policies, ['database/default-deny', 'database/postgres']);
});

Cli('explain names the ClusterNetworkPolicy tier, policy and rule that decided, in text and --json', () => {
  const cnp = join(dir, 'cnp.json');
  writeFileSync(cnp, JSON.stringify({
    apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'block-frontend' },
    spec: { tier: 'Admin', priority: 5, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'backend' } } },
      ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } } }] }] },
  }));
  const args = ['explain', '--manifests', examples, '--manifests', cnp, '--from', 'frontend/web-1', '--to', 'backend/api-2', '--port', '9000/tcp'];
  const text = knp(...args);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /DENIED/);
  assert.match(text.stdout, /ingress of backend\/api-2 \(node [^)]+\): denied by ClusterNetworkPolicy block-frontend ingress\[0\] \(admin tier, priority 5, Deny\)/);
  assert.match(text.stdout, /allowed by frontend\/web egress\[0\]/, 'the egress side is NetworkPolicy, as before');
  const e = JSON.parse(knp(...args, '--json').stdout);
  assert.equal(e.ingress.decidedBy, { tier: 'admin', policy: 'block-frontend', priority: 5, rule: 0, action: 'Deny' });
  assert.is(e.egress.decidedBy.tier, 'networkpolicy');
});

Cli('explain of an unknown pod exits 2', () => {
  assert.is(knp('explain', '--manifests', examples, '--from', 'x/nope', '--to', 'backend/api-2', '--port', '80').status, 2);
});

Cli('the --all-pairs --json matrix has the documented shape', () => {
  const r = knp('explain', '--manifests', examples, '--all-pairs', '--port', '5432/TCP', '--json');
  assert.is(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.equal(Object.keys(m), ['pods', 'port', 'protocol', 'allowed']);
  assert.equal(m.pods, [...m.pods].sort());
  assert.is(m.protocol, 'TCP');
  const api = m.pods.indexOf('backend/api-1'), pg = m.pods.indexOf('database/postgres-0'), web = m.pods.indexOf('frontend/web-1');
  assert.is(m.allowed[api][pg], true);
  assert.is(m.allowed[web][pg], false);
});
Cli.run();
