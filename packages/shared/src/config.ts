import { InputError } from './schema.js';
import { isValidPrefix } from './names.js';
import { loadNatsSettings, type NatsClientSettings } from './nats-settings.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
type Env = Readonly<Record<string, string | undefined>>;

/**
 * What every command reads: where NATS is, the prefix of every subject, stream and kernel name, the HTTP
 * port and the log level. A service's own variables (node, backend, state dir, kubeconfig) are its settings.
 */
export type Config = {
  /** Servers, authentication and TLS (secrets stay in their files until connect). */
  readonly nats: NatsClientSettings;
  readonly prefix: string;
  /** KNP_HTTP_PORT: where /healthz, /readyz and /metrics are served; unset = not served, 0 = any free port. */
  readonly httpPort: number | undefined;
  readonly logLevel: LogLevel;
};

export class ConfigError extends InputError {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** A variable's trimmed value; unset and blank are both undefined, so `X=` means "the default". */
export function textVariable(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** An integer variable's reader: a bad value is recorded in `problems` (variable, value, range) and the fallback returned, so every problem gets listed. */
export type IntVariable = (name: string, fallback: number, min: number, max: number) => number;

export function intVariables(env: Env, problems: string[]): IntVariable {
  return (name, fallback, min, max) => {
    const text = env[name]?.trim() || String(fallback);
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      problems.push(`${name}: ${JSON.stringify(text)} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
}

/**
 * Runs loaders that each throw `ConfigError` and throws one listing the problems of all of them, so a
 * command that reads the shared config and its own settings reports everything wrong in one go.
 */
export function loadTogether<T extends readonly unknown[]>(...loaders: { readonly [K in keyof T]: () => T[K] }): T {
  const problems: string[] = [];
  const values = loaders.map((load) => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return values as unknown as T;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the variables every command uses; every problem is listed with variable, value and expectation. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];

  const nats = loadNatsSettings(env, problems);

  const prefix = textVariable(env, 'KNP_PREFIX') ?? 'knp';
  if (!isValidPrefix(prefix)) problems.push(`KNP_PREFIX: ${JSON.stringify(prefix)} must be 1-8 of a-z0-9, starting with a letter`);

  const portText = textVariable(env, 'KNP_HTTP_PORT');
  const httpPort = portText === undefined ? undefined : Number(portText);
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || httpPort! > 65535))
    problems.push(`KNP_HTTP_PORT: ${JSON.stringify(portText)} must be 0 (any free port) to 65535, or unset (off)`);

  const logLevel = (textVariable(env, 'KNP_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`KNP_LOG_LEVEL: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join('|')}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return { nats, prefix, httpPort, logLevel };
}
