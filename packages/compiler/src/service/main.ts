import type { Service } from '@knp/shared';
import { runCompiler } from './compiler-service.js';
import { loadCompilerSettings, type CompilerSettings } from './settings.js';

const USAGE = `usage: knp compiler

Replays <PREFIX>_EVENTS (after the newest snapshot in <PREFIX>_snapshots), then follows it, and publishes a
rule set per node to <prefix>.rules.<node> whenever its content changes. Safe to run as several replicas.
Environment: KNP_NATS_URL (and the KNP_NATS_* identity and TLS variables), KNP_PREFIX, KNP_LOG_LEVEL,
KNP_HTTP_PORT (unset = off), KNP_HEARTBEAT_S (10), KNP_SNAPSHOT_EVENTS (10000; 0 = off), KNP_SNAPSHOT_S (300; 0 = off),
KNP_COMPILER_MAX_BATCH (10000),
KNP_SIGNING_KEY (signs snapshots), KNP_TRUSTED_WATCHER_KEYS (fold only events these keys signed),
KNP_TRUSTED_COMPILER_KEYS (load only snapshots these keys signed). Without trusted keys: unsigned, with a warning.
`;

/** `knp compiler`: the service `serviceMain` runs until SIGINT/SIGTERM. */
export const compilerService: Service<CompilerSettings> = {
  name: 'compiler',
  usage: USAGE,
  settings: loadCompilerSettings,
  start: (config, settings, log) => runCompiler(config, log, { settings }),
};
