import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig, loadTogether, names } from '@knp/shared';
import { connectNats, ensureStreams, loadStreamSettings } from '@knp/shared/nats';
import type { Command } from '../command.js';

const USAGE = `usage: knp init

Creates or updates what the services use on JetStream: the events stream <PREFIX>_EVENTS, the rules stream
<PREFIX>_RULES (node messages), the set store <PREFIX>_SETS, the status bucket <PREFIX>_status and the snapshot object store <PREFIX>_snapshots. The
services never create them (they wait, logging what is missing); run this once per prefix, and again after
changing the sizing. Idempotent: a second run changes nothing. Connects as the init role of infra/nats/.
A JetStream that is not ready yet (a cluster still electing its leaders) is retried for up to 60 s.
Environment: KNP_NATS_URL and the KNP_NATS_* identity and TLS variables, KNP_PREFIX, KNP_STREAM_REPLICAS
(1-5, default 1), KNP_EVENTS_MAX_AGE_S and KNP_EVENTS_MAX_BYTES (0 = keep the full history, the default).
Prints the stream names and the events stream's epoch (JSON).`;

/** `knp init`: the streams, bucket and object store, made once by their own role. */
export const initCommand: Command = {
  name: 'init',
  usage: USAGE,
  async run(argv, io, env) {
    parseArgs({ args: [...argv], options: {}, strict: true, allowPositionals: false });
    const [config, settings] = loadTogether(() => loadConfig(env), () => loadStreamSettings(env));
    const nc = await connectNats(config.nats, 'init', { timeout: 5_000 });
    try {
      const streams = await untilReady(() => ensureStreams(nc, config.prefix, settings), (err) => io.err(`knp init: JetStream not ready (${err.message}), trying again\n`));
      io.out(`${JSON.stringify({ ...streams, snapshotBucket: names(config.prefix).snapshotBucket })}\n`);
      return 0;
    } finally {
      await nc.close();
    }
  },
};

/** How long `knp init` retries a JetStream that times out or answers 503 (no leader yet). */
const READY_WITHIN_MS = 60_000;

/** Runs `op` again while JetStream answers with a timeout or "temporarily unavailable"; anything else fails at once. */
async function untilReady<T>(op: () => Promise<T>, retrying: (err: Error) => void): Promise<T> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      const e = err as Error & { code?: string };
      const transient = e.code === 'TIMEOUT' || e.code === '503' || /temporarily unavailable|no responders|timeout/i.test(e.message);
      if (!transient || Date.now() > deadline) throw err;
      retrying(e);
      await sleep(1_000);
    }
  }
}
