import { parseArgs } from 'node:util';
import { loadConfig } from '@knp/shared';
import type { NatsConnection } from 'nats';
import { connectNats } from '@knp/shared/nats';
import type { Command } from '../command.js';
import { connectFailure } from '../connect-failure.js';
import { FactsReader, rulesTrustFromEnv } from '../ops/facts.js';
import { renderStatus, statusReport } from '../ops/status-report.js';

const USAGE = `usage: knp status [--json]

The watcher, the compiler replicas and every node: desired vs applied rule set version, lag, heartbeat age,
rejected policies, rule sets refused, last error. Environment: KNP_NATS_URL, KNP_PREFIX, KNP_TRUSTED_COMPILER_KEYS
(the newest rule set of a node counts only if it verifies; unset: a warning). Exit 2 when NATS is unreachable.`;

/** `knp status`: prints the table (or JSON) once; 0, or 2 for bad flags, configuration or NATS unreachable. */
export const statusCommand: Command = {
  name: 'status',
  usage: USAGE,
  async run(argv, io, env) {
    const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' } }, strict: true, allowPositionals: false });
    const config = loadConfig(env);
    const trust = rulesTrustFromEnv(env);
    let nc: NatsConnection;
    try {
      nc = await connectNats(config.nats, 'operator', { name: 'knp-status', timeout: 5_000 });
    } catch (err) {
      io.err(`knp status: ${connectFailure(err)}\n`);
      return 2;
    }
    try {
      const report = statusReport(await new FactsReader(nc, config.prefix, trust).read());
      io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
      return 0;
    } catch (err) {
      io.err(`knp status: ${(err as Error).message}\n`);
      return 2;
    } finally {
      await nc.close();
    }
  },
};
