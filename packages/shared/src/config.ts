import { isValidPrefix } from './names.js';

export type Backend = 'nftables' | 'iptables';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type Config = {
  readonly natsUrls: readonly string[];
  readonly prefix: string;
  readonly nodeName: string | undefined;
  readonly backend: Backend;
  readonly netns: string | undefined;
  readonly stateDir: string;
  readonly httpPort: number;
  readonly logLevel: LogLevel;
  readonly kubeconfig: string | undefined;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** An integer variable's reader: a bad value is recorded in `problems` (variable, value, range) and the fallback returned, so every problem gets listed. */
export type IntVariable = (name: string, fallback: number, min: number, max: number) => number;

export function intVariables(env: Readonly<Record<string, string | undefined>>, problems: string[]): IntVariable {
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

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the environment once; every problem is listed with variable, value and expectation. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const natsUrls = (value('KNP_NATS_URL') ?? 'nats://127.0.0.1:4222').split(',').map((u) => u.trim()).filter(Boolean);
  for (const url of natsUrls)
    if (!/^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(url) && !/^[^\s/:]+:\d+$/.test(url))
      problems.push(`KNP_NATS_URL: ${JSON.stringify(redact(url))} is not a nats://host:port URL`);

  const prefix = value('KNP_PREFIX') ?? 'knp';
  if (!isValidPrefix(prefix)) problems.push(`KNP_PREFIX: ${JSON.stringify(prefix)} must be 1-8 of a-z0-9, starting with a letter`);

  const nodeName = value('KNP_NODE_NAME');
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName))
    problems.push(`KNP_NODE_NAME: ${JSON.stringify(nodeName)} is not a Kubernetes node name (DNS subdomain)`);

  const backend = value('KNP_BACKEND') ?? 'nftables';
  if (backend !== 'nftables' && backend !== 'iptables') problems.push(`KNP_BACKEND: ${JSON.stringify(backend)} is not nftables|iptables`);

  const netns = value('KNP_NETNS');
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) problems.push(`KNP_NETNS: ${JSON.stringify(netns)} is not a network namespace name`);

  const stateDir = value('KNP_STATE_DIR') ?? '/var/lib/knp';
  if (!stateDir.startsWith('/')) problems.push(`KNP_STATE_DIR: ${JSON.stringify(stateDir)} must be an absolute path`);

  const portText = value('KNP_HTTP_PORT') ?? '0';
  const httpPort = Number(portText);
  if (!/^\d+$/.test(portText) || httpPort > 65535) problems.push(`KNP_HTTP_PORT: ${JSON.stringify(portText)} must be 0 (off) to 65535`);

  const logLevel = (value('KNP_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`KNP_LOG_LEVEL: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join('|')}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    natsUrls,
    prefix,
    nodeName,
    backend: backend as Backend,
    netns,
    stateDir,
    httpPort,
    logLevel,
    kubeconfig: value('KUBECONFIG'),
  };
}

/** Hides credentials in a URL before it reaches an error message. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
