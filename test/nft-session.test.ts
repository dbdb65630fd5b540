import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type RuleSet } from '@knp/shared';
import { Applier, KernelCommandError, NftSession, nftBackend, nftListTable, printNft, planNft } from '@knp/node-applier';
import { NetnsCluster, inNetns } from '@knp/sim';
import { localPod, peers, podsSet, rule, ruleSet, tcp, suite } from '@knp/testing';

/**
 * The long-lived `nft -i` session against the real nft 1.0.6: one transaction per script (a failing last
 * line leaves the first lines unapplied, and the error names that line), deltas and whole tables through
 * the Applier ending in exactly what a one-shot load of the last version gives, and a child killed
 * between or during transactions replaced without the kernel ending anywhere else.
 */
const PREFIX = 'knps';
const log = createLogger('nft-session-test', 'silent');
const ctx = {} as { scratch: NetnsCluster; a: string; b: string };
const Session = suite('nft -i session');

Session.before(async () => {
  ctx.scratch = await NetnsCluster.create({ nodes: ['sess-a', 'sess-b'], pods: [] });
  ctx.a = ctx.scratch.netnsOf('sess-a');
  ctx.b = ctx.scratch.netnsOf('sess-b');
});
Session.after(async () => {
  await ctx.scratch?.destroy();
});

/** `extra` sets are used by a rule of their own: dropping one removes a set and a chain (a structural change). */
function version(seq: number, peerIps: string[], extra: string[] = []): RuleSet {
  const sets: AddressSet[] = [podsSet('peers', peerIps), ...extra.map((id, i) => podsSet(id, [`10.3.0.${i + 1}`]))];
  const rules = [rule('in', 'ingress', [peers(['peers'], [tcp(80)])]), ...extra.map((id) => rule(`in-${id}`, 'ingress', [peers([id], [tcp(81)])]))];
  const pods = [localPod({ name: 'x/a', ips: ['10.1.0.11'], ingress: ['in', ...extra.map((id) => `in-${id}`)] })];
  return ruleSet({ sets, rules, pods }, seq);
}

const history: RuleSet[] = [
  version(1, ['10.2.0.1', '10.2.0.2'], ['e1', 'e2']),
  version(2, ['10.2.0.1', '10.2.0.2', '10.2.0.3'], ['e1', 'e2']),
  version(3, ['10.2.0.3'], ['e1', 'e2']),
  version(4, ['10.2.0.3', '10.2.0.4'], ['e1']),
  version(5, ['10.2.0.5'], ['e1']),
];

/** The table as a one-shot `nft -f` of `ruleSet` leaves it in the other namespace. */
async function reference(ruleSet: RuleSet): Promise<string | undefined> {
  const oneShot = nftBackend({ prefix: PREFIX, netns: ctx.b, session: false });
  await oneShot.load(ruleSet, undefined);
  return oneShot.observe();
}

const sets = async (netns: string): Promise<string[]> =>
  (((await nftListTable('inet', PREFIX, { netns })) as { nftables: { set?: { name: string } }[] }).nftables).flatMap((i) => (i.set ? [i.set.name] : [])).sort();

Session('a failing command refuses the whole transaction and is named with its line', async () => {
  const session = new NftSession({ netns: ctx.a });
  try {
    const table = planNft(history[0]!, { prefix: PREFIX });
    await session.run(printNft(table));
    const set = table.sets.find((s) => s.role === 'pods')!.name;
    const script = [`add element inet ${PREFIX} ${set} { 10.9.9.1 }`, `add element inet ${PREFIX} ${set} { 10.9.9.2 }`, `add element inet ${PREFIX} nosuchset { 10.9.9.3 }`, ''].join('\n');
    const err = await session.run(script).then(() => undefined, (e: unknown) => e);
    assert.instance(err, KernelCommandError);
    assert.is((err as KernelCommandError).line, 3);
    assert.match((err as KernelCommandError).message, /nosuchset/);
    assert.not.match(await inNetns(ctx.a, ['nft', 'list', 'set', 'inet', PREFIX, set]), '10.9.9.1');
    // the session goes on after a refusal
    await session.run(`add element inet ${PREFIX} ${set} { 10.9.9.1 }\n`);
    assert.match(await inNetns(ctx.a, ['nft', 'list', 'set', 'inet', PREFIX, set]), '10.9.9.1');
    assert.is(session.starts, 1);
  } finally {
    await session.close();
  }
});

Session('a rule set sequence through the Applier ends in the last version; unused sets are gone', async () => {
  // a child replaced after every 2 transactions (history bounded) changes nothing
  const session = new NftSession({ netns: ctx.a }, { transactionsPerChild: 2 });
  const backend = nftBackend({ prefix: PREFIX, netns: ctx.a, session });
  const applier = new Applier(backend, { log });
  try {
    const modes: string[] = [];
    for (const rs of history) {
      const outcome = await applier.apply(rs);
      modes.push(outcome.kind === 'applied' ? outcome.mode : outcome.kind);
    }
    assert.equal(modes, ['full', 'delta', 'delta', 'full', 'delta']);
    assert.is(await backend.observe(), await reference(history.at(-1)!));
    assert.equal(await sets(ctx.a), planNft(history.at(-1)!, { prefix: PREFIX }).sets.filter((s) => !s.map).map((s) => s.name).sort());
    assert.is(session.starts, 3);
  } finally {
    await backend.close?.();
  }
});

Session('a killed child is replaced: between transactions, and during one (the retry loads the whole table)', async () => {
  const session = new NftSession({ netns: ctx.a });
  const backend = nftBackend({ prefix: PREFIX, netns: ctx.a, session });
  const applier = new Applier(backend, { log, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 10 } });
  try {
    await applier.apply(history[0]!);
    const first = session.pid!;
    process.kill(first, 'SIGKILL');
    await waitGone(first);
    while (session.pid !== undefined) await new Promise((r) => setImmediate(r));
    const between = await applier.apply(history[1]!);
    assert.equal(between.kind === 'applied' && [between.mode, between.attempts], ['delta', 1]);
    assert.is(session.starts, 2);
    assert.is(await backend.observe(), await reference(history[1]!));

    // 3,000 new elements keep the child busy long enough to be killed in the middle
    const big = version(6, Array.from({ length: 3000 }, (_, i) => `10.${40 + (i >> 8)}.${i & 255}.1`), ['e1', 'e2']);
    const during = applier.apply(big);
    while (!session.inFlight) await new Promise((r) => setImmediate(r));
    process.kill(session.pid!, 'SIGKILL');
    const outcome = await during;
    assert.equal(outcome.kind === 'applied' && [outcome.mode, outcome.attempts], ['full', 2]);
    assert.is(session.starts, 3);
    assert.is(await backend.observe(), await reference(big));
  } finally {
    await backend.close?.();
  }
  assert.is(session.pid, undefined, 'closed: no child left');
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

Session.run();
