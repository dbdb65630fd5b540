import { ConfigError, loadConfig, loadTogether, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

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
 * start (exit 1 when it fails), then run until SIGINT/SIGTERM and stop cleanly (exit 0).
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
  let handle;
  try {
    handle = await service.start(config, settings, log);
  } catch (err) {
    log.fatal({ err }, `${service.name} failed to start`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'shutting down');
  await handle.stop();
  return 0;
}
