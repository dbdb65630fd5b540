import * as assert from 'uvu/assert';
import type { StatusReport } from '@knp/cli';
import { Pipeline, knp, knpStatus, syncApi, waitSynced } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';
import { NODES, modelObjects, policy, scenarios } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

/**
 * ClusterNetworkPolicy end to end: the API stand-in (CRD absent at first) -> `knp watcher` -> NATS ->
 * `knp compiler` -> appliers, node-1 on nftables and node-2 on iptables, on real packets. Every step goes
 * through the API and `knp wait --synced --after-rv`; each probed pair is also asked of `knp explain` (live,
 * from the events stream), which must give the same verdict and name the deciding tier, policy and rule.
 * Pods: x/a x/c y/b z/a z/c on node-1, x/b y/a y/c z/b on node-2.
 */
type Ctx = { p: Pipeline; extra: Map<string, object> };
const Cnp = suite<Ctx>('ClusterNetworkPolicy through the whole pipeline (nftables + iptables)');

const cnp = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name }, spec });
const ns = (name: string) => ({ matchLabels: { ns: name } });
const xa = { pods: { namespaceSelector: ns('x'), podSelector: { matchLabels: { pod: 'a' } } } };
/** x/a admits every pod: a NetworkPolicy allow for the tiers to beat or to hand over to. */
const allowAllToXa = policy('x', 'allow-all-to-a', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }] }] });
const adminDenyY = cnp('admin-deny-y', { tier: 'Admin', priority: 10, subject: xa, ingress: [{ name: 'deny-from-y', action: 'Deny', from: [{ namespaces: ns('y') }] }] });

Cnp.before(async (ctx) => {
  ctx.p = await Pipeline.create({
    prefix: 'ecnp', nodes: NODES, pods: fixturePods([scenarios[0]!]), nodeListeners: { ports: [80] }, standin: { clusterNetworkPolicyCrd: false },
  });
  ctx.p.appliers.set('node-2', ctx.p.applier('node-2', 'iptables'));
  ctx.extra = new Map();
  const rv = apply(ctx);
  await ctx.p.init();
  ctx.p.start();
  try {
    await waitSynced(ctx.p.env, rv, 60);
  } catch (err) {
    process.stderr.write(`${ctx.p.logTails(30)}\n`);
    throw err;
  }
});
Cnp.after(async (ctx) => {
  await ctx.p?.destroy();
});

/** Node objects for the netns nodes, addressed as the cluster addresses them. */
function nodeObjects(ctx: Ctx) {
  return NODES.map((name) => ({
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { addresses: [...ctx.p.cluster.nodeIps(name).map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }] },
  }));
}

/** The API holds the model, the nodes, x/a's allow and `ctx.extra` (by name; later entries replace); returns the rv. */
function apply(ctx: Ctx, changes: Record<string, object | null> = {}): string {
  for (const [name, object] of Object.entries(changes)) {
    if (object === null) ctx.extra.delete(name);
    else ctx.extra.set(name, object);
  }
  const nodes = nodeObjects(ctx).map((n) => (ctx.extra.get(`node:${n.metadata.name}`) as typeof n | undefined) ?? n);
  const rest = [...ctx.extra.entries()].filter(([k]) => !k.startsWith('node:')).map(([, o]) => o as { kind: string; metadata: { name: string } });
  return syncApi(ctx.p.standin, [...modelObjects(), ...nodes, allowAllToXa, ...rest]);
}

const sync = async (ctx: Ctx, changes: Record<string, object | null> = {}): Promise<void> => void (await waitSynced(ctx.p.env, apply(ctx, changes), 30));

/** Probes from -> to on 80/TCP and asks `knp explain`; both must say `allowed`; the explanation must match `why`. */
async function check(ctx: Ctx, from: string, to: string, allowed: boolean, why?: RegExp): Promise<void> {
  const [packets, run] = await Promise.all([ctx.p.cluster.reaches(from, to), knp(['explain', '--from', from, '--to', to, '--port', '80/TCP'], ctx.p.env)]);
  assert.is(run.code, 0, run.stderr);
  const said = /: (ALLOWED|DENIED)/.exec(run.stdout)?.[1];
  assert.is(packets, allowed, `${from} -> ${to} on real packets (explain said:\n${run.stdout})`);
  assert.is(said, allowed ? 'ALLOWED' : 'DENIED', `knp explain ${from} -> ${to} equals the packets:\n${run.stdout}`);
  if (why) assert.match(run.stdout, why);
}

Cnp('CRD absent at start: NetworkPolicy alone enforced and the status says so; installed, an Admin Deny beats the NetworkPolicy allow', async (ctx) => {
  const status = await knp(['status'], ctx.p.env);
  assert.match(status.stdout, /ClusterNetworkPolicy: not served by the API \(CRD not installed\)/);
  await check(ctx, 'y/a', 'x/a', true, /allowed by x\/allow-all-to-a ingress\[0\]/);
  ctx.p.standin.setCrdInstalled(true);
  // knp wait does not wait for a kind the watcher last found absent: first see it discovered (retried with backoff)
  await waitFor('the watcher discovers the CRD', async () => (await knpStatus<StatusReport>(ctx.p.env)).watcher?.absentKinds.length === 0 ? true : undefined, 30_000);
  await sync(ctx, { adminDenyY });
  await check(ctx, 'y/a', 'x/a', false, /ingress of x\/a \(node node-1\): denied by ClusterNetworkPolicy admin-deny-y ingress\[0\] \(admin tier, priority 10, Deny\)/);
  await check(ctx, 'y/b', 'x/a', false); // same node
  await check(ctx, 'z/b', 'x/a', true, /allowed by x\/allow-all-to-a/);
});

Cnp('Pass hands y/b over to NetworkPolicy, which allows it; the Admin Deny still takes the rest of y', async (ctx) => {
  const pass = cnp('admin-pass-yb', { tier: 'Admin', priority: 5, subject: xa, ingress: [{ action: 'Pass', from: [{ pods: { namespaceSelector: ns('y'), podSelector: { matchLabels: { pod: 'b' } } } }] }] });
  await sync(ctx, { pass });
  await check(ctx, 'y/b', 'x/a', true, /allowed by x\/allow-all-to-a ingress\[0\].*passed on by ClusterNetworkPolicy admin-pass-yb ingress\[0\] \(admin tier, priority 5\)/);
  await check(ctx, 'y/a', 'x/a', false, /admin-deny-y/);
});

Cnp('Baseline Deny: decides where no NetworkPolicy isolates (iptables node), not where one does', async (ctx) => {
  const baseline = cnp('baseline-deny-z', { tier: 'Baseline', priority: 1, subject: { namespaces: {} }, ingress: [{ name: 'no-z', action: 'Deny', from: [{ namespaces: ns('z') }] }] });
  await sync(ctx, { baseline });
  await check(ctx, 'z/a', 'y/a', false, /ingress of y\/a \(node node-2\): denied by ClusterNetworkPolicy baseline-deny-z ingress\[0\] \(baseline tier, priority 1, Deny\)/);
  await check(ctx, 'z/b', 'y/c', false); // same node, iptables
  await check(ctx, 'x/b', 'y/a', true, /allowed, not isolated/);
  await check(ctx, 'z/a', 'x/a', true, /allowed by x\/allow-all-to-a/); // the NetworkPolicy decides before the baseline
});

Cnp('a nodes peer: egress to a labelled node is denied; labelling the other node later denies that one too', async (ctx) => {
  const [ip1, ip2] = [ctx.p.cluster.nodeIps('node-1')[0]!, ctx.p.cluster.nodeIps('node-2')[0]!];
  assert.ok(await ctx.p.cluster.reachesIp('x/a', ip2), 'x/a -> node-2 before any nodes peer');
  const labelled = (name: string) => ({ ...nodeObjects(ctx).find((n) => n.metadata.name === name)!, metadata: { name, labels: { role: 'target' } } });
  const denyNodes = cnp('admin-deny-nodes', { tier: 'Admin', priority: 50, subject: { namespaces: ns('x') }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { role: 'target' } } }] }] });
  await sync(ctx, { denyNodes, 'node:node-2': labelled('node-2') });
  assert.not.ok(await ctx.p.cluster.reachesIp('x/a', ip2), 'x/a (node-1, nftables) -> node-2 denied');
  assert.ok(await ctx.p.cluster.reachesIp('y/b', ip2), 'y/b is no subject');
  assert.ok(await ctx.p.cluster.reachesIp('x/b', ip1), 'node-1 is not labelled yet');
  await sync(ctx, { 'node:node-1': labelled('node-1') });
  assert.not.ok(await ctx.p.cluster.reachesIp('x/b', ip1), 'x/b (node-2, iptables) -> node-1 denied once node-1 is labelled');
});

Cnp('a priority change through an update flips the verdict; deleting the policies hands back to NetworkPolicy', async (ctx) => {
  const accept = (priority: number) => cnp('admin-accept-y', { tier: 'Admin', priority, subject: xa, ingress: [{ action: 'Accept', from: [{ namespaces: ns('y') }] }] });
  await sync(ctx, { accept: accept(20) });
  await check(ctx, 'y/a', 'x/a', false, /admin-deny-y ingress\[0\] \(admin tier, priority 10, Deny\)/);
  await sync(ctx, { accept: accept(1) });
  await check(ctx, 'y/a', 'x/a', true, /allowed by ClusterNetworkPolicy admin-accept-y ingress\[0\] \(admin tier, priority 1, Accept\)/);
  await sync(ctx, { accept: null, adminDenyY: null });
  await check(ctx, 'y/a', 'x/a', true, /allowed by x\/allow-all-to-a ingress\[0\]/);
});

Cnp('a broken rule fails closed and is reported by knp status; the other policies stay enforced', async (ctx) => {
  // a peer field knp does not know: a Pass rule that cannot be read becomes a Deny of everything
  const broken = cnp('broken', { tier: 'Admin', priority: 30, subject: { namespaces: ns('z') }, ingress: [{ action: 'Pass', from: [{ someNewPeer: {} }] }] });
  await sync(ctx, { broken });
  await check(ctx, 'x/a', 'z/a', false, /denied by ClusterNetworkPolicy broken ingress\[0\]/); // same node, nftables
  await check(ctx, 'x/a', 'z/b', false); // to node-2, iptables
  const report = await knpStatus<StatusReport>(ctx.p.env);
  assert.ok(report.rejections.items.some((r) => r.startsWith('ClusterNetworkPolicy broken spec.ingress[0].from[0].someNewPeer')), report.rejections.items.join('\n'));
  await check(ctx, 'z/a', 'y/a', false, /baseline-deny-z/);
  await check(ctx, 'x/b', 'y/a', true);
  assert.not.ok(await ctx.p.cluster.reachesIp('x/a', ctx.p.cluster.nodeIps('node-2')[0]!), 'the nodes peer still denies');
});

Cnp.run();
