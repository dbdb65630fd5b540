import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@knp/shared';
import type { NatsConnection } from 'nats';
import { connectNats } from '@knp/shared/nats';
import type { Command } from '../command.js';
import { connectFailure } from '../connect-failure.js';
import { UsageError } from '../io.js';
import { FactsReader, rulesTrustFromEnv } from '../ops/facts.js';
import { judgeSync, type SyncVerdict } from '../ops/judge.js';

const USAGE = `usage: knp wait --synced [--after-rv RV] [--timeout S]

Waits until the pipeline has caught up: with --after-rv, the watcher has seen resourceVersion >= RV and
published everything it saw; a compiler has evaluated every event in the stream at the moment of the call
(and every event the watcher published); every applier with a fresh heartbeat enforces its node's newest
rule set. Prints the status it judged as JSON. Exit 0 synced, 1 timeout (default 60 s), 2 error.
Environment: KNP_NATS_URL, KNP_PREFIX, KNP_TRUSTED_COMPILER_KEYS (a rule set counts only if it verifies).`;

const POLL_MS = 50;

/** The flags, or a UsageError naming the bad one. */
function parse(argv: readonly string[]): { afterRv?: string; timeoutMs: number } {
  const { values } = parseArgs({ args: [...argv], options: { synced: { type: 'boolean' }, 'after-rv': { type: 'string' }, timeout: { type: 'string' } }, strict: true, allowPositionals: false });
  if (!values.synced) throw new UsageError('--synced is required (the only condition knp wait knows)');
  const timeoutText = values.timeout ?? '60';
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || Number(timeoutText) <= 0) throw new UsageError(`--timeout ${JSON.stringify(timeoutText)}: expected seconds > 0`);
  const afterRv = values['after-rv'];
  if (afterRv !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(afterRv)) throw new UsageError(`--after-rv ${JSON.stringify(afterRv)}: expected a resourceVersion`);
  return { ...(afterRv !== undefined ? { afterRv } : {}), timeoutMs: Number(timeoutText) * 1000 };
}

/** `knp wait --synced`: 0 synced, 1 timed out, 2 bad flags, configuration or NATS unreachable. */
export const waitCommand: Command = {
  name: 'wait',
  usage: USAGE,
  async run(argv, io, env) {
    const parsed = parse(argv);
    const config = loadConfig(env);
    const trust = rulesTrustFromEnv(env);
    const deadline = Date.now() + parsed.timeoutMs;
    let nc: NatsConnection;
    try {
      nc = await connectNats(config.nats, 'operator', { name: 'knp-wait', timeout: Math.min(5_000, parsed.timeoutMs), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    } catch (err) {
      io.out(`${JSON.stringify({ synced: false, error: connectFailure(err) })}\n`);
      return 2;
    }
    const started = Date.now();
    try {
      const reader = new FactsReader(nc, config.prefix, trust);
      let targetSeq: number | undefined;
      let verdict: SyncVerdict | undefined;
      let lastError: string | undefined;
      for (;;) {
        try {
          const facts = await reader.read();
          targetSeq ??= facts.events.lastSeq; // fixed at the first read: "every event in the stream at the moment of the call"
          verdict = judgeSync(facts, { targetSeq, ...(parsed.afterRv !== undefined ? { afterRv: parsed.afterRv } : {}) });
          lastError = undefined;
          if (verdict.synced) {
            io.out(`${JSON.stringify({ ...verdict, elapsedMs: Date.now() - started })}\n`);
            return 0;
          }
        } catch (err) {
          lastError = (err as Error).message;
        }
        if (Date.now() >= deadline) {
          io.out(`${JSON.stringify({ ...(verdict ?? { synced: false }), elapsedMs: Date.now() - started, ...(lastError ? { error: lastError } : {}) })}\n`);
          return lastError !== undefined && verdict === undefined ? 2 : 1;
        }
        await sleep(POLL_MS);
      }
    } finally {
      await nc.close();
    }
  },
};
