import { execFileSync, spawn } from 'node:child_process';
import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { XTABLES_WAIT_S, iptablesRestore } from '@knp/node-applier';

/**
 * On an iptables-legacy host another agent (kube-proxy, the kubelet) may hold /run/xtables.lock while we
 * load: the load waits for it instead of failing. Real iptables-legacy-restore in a network namespace of
 * its own; the lock is held with flock(1), as iptables itself takes it.
 */
const Lock = suite('iptables-restore honours the xtables lock');
const NETNS = `knp-xlock-${process.pid}`;
const LOCK = '/run/xtables.lock';

Lock.before(() => void execFileSync('ip', ['netns', 'add', NETNS]));
Lock.after(() => void execFileSync('ip', ['netns', 'del', NETNS]));

const script = ['*filter', ':KNPX-TEST - [0:0]', '-A KNPX-TEST -j RETURN', 'COMMIT', ''].join('\n');

Lock('a load waits while another process holds the lock, then succeeds', async () => {
  const holder = spawn('flock', ['-x', LOCK, 'sleep', '1.5'], { stdio: 'ignore' });
  const released = new Promise((r) => holder.once('exit', r));
  await new Promise((r) => setTimeout(r, 300)); // flock has the lock
  const started = Date.now();
  await iptablesRestore(4, script, { netns: NETNS, iptables: 'legacy', timeoutMs: 10_000 });
  const waited = Date.now() - started;
  await released;
  assert.ok(waited >= 800, `the load waited for the lock (${waited} ms)`);
  const saved = execFileSync('ip', ['netns', 'exec', NETNS, 'iptables-legacy-save', '-t', 'filter'], { encoding: 'utf8' });
  assert.match(saved, /-A KNPX-TEST -j RETURN/);
});

Lock('a lock held past the wait fails the load after XTABLES_WAIT_S, with a message, instead of hanging', async () => {
  const holder = spawn('flock', ['-x', LOCK, 'sleep', String(XTABLES_WAIT_S + 4)], { stdio: 'ignore' });
  const released = new Promise((r) => holder.once('exit', r));
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const err = await iptablesRestore(4, script.replace(/KNPX-TEST/g, 'KNPX-LATE'), { netns: NETNS, iptables: 'legacy', timeoutMs: 30_000 }).then(() => undefined, (e: unknown) => e as Error);
  const took = Date.now() - started;
  holder.kill();
  await released;
  assert.ok(err, `the load failed (took ${took} ms)`);
  assert.match(err.message, /lock/i);
  assert.ok(took < (XTABLES_WAIT_S + 3) * 1000, `it gave up after about ${XTABLES_WAIT_S} s, not when the holder let go (${took} ms)`);
});

Lock.run();
