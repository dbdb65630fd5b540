import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@knp/shared';
import { connect } from 'nats';
import { FactsReader } from './facts.js';
import { renderStatus, statusReport } from './status-report.js';
import type { OpsIo } from './wait-command.js';

export const STATUS_USAGE = `usage: knp status [--json]

The watcher, the compiler replicas and every node: desired vs applied rule set version, lag, heartbeat age,
rejected policies, last error. Environment: KNP_NATS_URL, KNP_PREFIX. Exit 2 when NATS is unreachable.`;

/** `knp status`: prints the table (or JSON) once; 0, or 2 for bad flags, configuration or NATS unreachable. */
export async function statusCommand(argv: readonly string[], io: OpsIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return io.err(`knp status: ${(err as Error).message}\n${STATUS_USAGE}\n`), 2;
  }
  if (values.help) return io.out(`${STATUS_USAGE}\n`), 0;
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return io.err(`${err.message}\n`), 2;
    throw err;
  }
  let nc;
  try {
    nc = await connect({ servers: [...config.natsUrls], name: 'knp-status', timeout: 5_000 });
  } catch (err) {
    return io.err(`knp status: NATS unreachable: ${(err as Error).message}\n`), 2;
  }
  try {
    const report = statusReport(await new FactsReader(nc, config.prefix).read());
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
    return 0;
  } catch (err) {
    io.err(`knp status: ${(err as Error).message}\n`);
    return 2;
  } finally {
    await nc.close();
  }
}
