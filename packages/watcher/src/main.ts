import { ConfigError, createLogger, loadConfig } from '@knp/shared';
import { runWatcher } from './watcher.js';
import { loadWatcherSettings } from './watcher-config.js';

const USAGE = `usage: knp watcher

Lists and watches Pods, Namespaces and NetworkPolicies and publishes them to <PREFIX>_EVENTS.
Environment: KNP_NATS_URL, KNP_PREFIX, KNP_LOG_LEVEL, KUBECONFIG (else in-cluster),
KNP_STREAM_REPLICAS, KNP_EVENTS_MAX_AGE_S, KNP_EVENTS_MAX_BYTES (0 = full history), KNP_HEARTBEAT_S.
`;

/** `bin/knp watcher`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config, settings;
  try {
    config = loadConfig(process.env);
    settings = loadWatcherSettings(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger('watcher', config.logLevel);
  let handle;
  try {
    handle = await runWatcher(config, log, { streams: settings.streams, heartbeatMs: settings.heartbeatMs });
  } catch (err) {
    log.fatal({ err }, 'watcher failed to start');
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
