import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '@knp/shared';
import { connect, type NatsConnection } from 'nats';
import { FactsReader } from './facts.js';
import { judgeSync, type SyncVerdict } from './judge.js';

export const WAIT_USAGE = `usage: knp wait --synced [--after-rv RV] [--timeout S]

Waits until the pipeline has caught up: with --after-rv, the watcher has seen resourceVersion >= RV and
published everything it saw; a compiler has evaluated every event in the stream at the moment of the call
(and every event the watcher published); every applier with a fresh heartbeat enforces its node's newest
rule set. Prints the status it judged as JSON. Exit 0 synced, 1 timeout (default 60 s), 2 error.
Environment: KNP_NATS_URL, KNP_PREFIX.`;

/** Where a command writes: injected so the commands run in tests without a process. */
export type OpsIo = { readonly out: (text: string) => void; readonly err: (text: string) => void };
export const processOpsIo: OpsIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

const POLL_MS = 50;

type Parsed = { kind: 'ok'; afterRv?: string; timeoutMs: number } | { kind: 'usage'; message: string };

function parse(argv: readonly string[]): Parsed {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { synced: { type: 'boolean' }, 'after-rv': { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return { kind: 'usage', message: (err as Error).message };
  }
  if (!values.synced) return { kind: 'usage', message: '--synced is required (the only condition knp wait knows)' };
  const timeoutText = values.timeout ?? '60';
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || Number(timeoutText) <= 0) return { kind: 'usage', message: `--timeout ${JSON.stringify(timeoutText)}: expected seconds > 0` };
  const afterRv = values['after-rv'];
  if (afterRv !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(afterRv)) return { kind: 'usage', message: `--after-rv ${JSON.stringify(afterRv)}: expected a resourceVersion` };
  return { kind: 'ok', ...(afterRv !== undefined ? { afterRv } : {}), timeoutMs: Number(timeoutText) * 1000 };
}

/** `knp wait --synced`: 0 synced, 1 timed out, 2 bad flags, configuration or NATS unreachable. */
export async function waitCommand(argv: readonly string[], io: OpsIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) return io.out(`${WAIT_USAGE}\n`), 0;
  const parsed = parse(argv);
  if (parsed.kind === 'usage') return io.err(`knp wait: ${parsed.message}\n${WAIT_USAGE}\n`), 2;
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return io.err(`${err.message}\n`), 2;
    throw err;
  }
  const deadline = Date.now() + parsed.timeoutMs;
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: [...config.natsUrls], name: 'knp-wait', timeout: Math.min(5_000, parsed.timeoutMs), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (err) {
    io.out(`${JSON.stringify({ synced: false, error: `NATS unreachable: ${(err as Error).message}` })}\n`);
    return 2;
  }
  const started = Date.now();
  try {
    const reader = new FactsReader(nc, config.prefix);
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
}
