import { ConfigError, loadConfig, loadTogether, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { InputError } from './schema.js';

export type Service<S> = {
  /** `watcher`, `compiler`, `applier`: the command name, the logger's service name. */
  readonly name: string;
  readonly usage: string;
  /** The service's own variables beyond `loadConfig`'s; throws `ConfigError` listing every problem. */
  readonly settings: (env: Readonly<Record<string, string | undefined>>) => S;
  readonly start: (config: Config, settings: S, log: Logger) => Promise<{ stop(): Promise<void> }>;
};

/**
 * The process shell every service shares: `--help`, configuration (exit 2 listing every problem), a logger,
 * start (exit 1 when it fails), then run until SIGINT/SIGTERM and stop cleanly (exit 0) within
 * STOP_DEADLINE_MS. The caller exits the process when this resolves: a connection still retrying, or a
 * start still waiting for NATS, must not keep it alive.
 */
export async function serviceMain<S>(argv: readonly string[], service: Service<S>): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(service.usage);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`knp ${service.name}: unexpected arguments ${JSON.stringify(argv)}\n${service.usage}`);
    return 2;
  }
  let config: Config, settings: S;
  try {
    // both are read before either is reported, so one start lists every problem
    [config, settings] = loadTogether(() => loadConfig(process.env), () => service.settings(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(service.name, config.logLevel);
  // listened for from the start: a signal while the service is still waiting for NATS ends the wait
  const signalled = firstSignal();
  const started = await Promise.race([
    service.start(config, settings, log).then((handle) => ({ handle }), (err: unknown) => ({ err })),
    signalled.then((signal) => ({ signal })),
  ]);
  if ('signal' in started) {
    log.info({ signal: started.signal }, 'signal while starting; exiting');
    return 0;
  }
  if ('err' in started) {
    if (started.err instanceof InputError) {
      // settings the server refused (an identity, a certificate): one line naming them, like a bad variable
      process.stderr.write(`knp ${service.name}: ${started.err.message}\n`);
      return 2;
    }
    log.fatal({ err: started.err }, `${service.name} failed to start`);
    return 1;
  }
  const signal = await signalled;
  log.info({ signal }, 'shutting down');
  const stopped = await Promise.race([started.handle.stop().then(() => true), delay(STOP_DEADLINE_MS).then(() => false)]);
  if (!stopped) log.warn({ deadlineMs: STOP_DEADLINE_MS }, 'did not stop in time; exiting anyway (the kernel keeps the last rules)');
  return 0;
}

/**
 * How long a clean stop may take after SIGTERM before the process exits anyway: below the 10 s an operator
 * (and Kubernetes' default grace period of 30 s) waits. A second signal ends the process at once.
 */
export const STOP_DEADLINE_MS = 7_000;

function firstSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
