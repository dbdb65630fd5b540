import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { ConfigError } from '../config.js';
import { describeNatsAuth, type NatsAuth, type NatsClientSettings } from '../nats-settings.js';
import { InputError } from '../schema.js';

/** The identities of infra/nats/nats.conf: each connects with its own inbox prefix, so replies can be granted narrowly. */
export type NatsRole = 'init' | 'watcher' | 'compiler' | 'applier' | 'operator';

/** `_INBOX.knp.<role>`: the subjects a role's request/reply answers come back on (its `.>`). */
export const inboxPrefix = (role: NatsRole): string => `_INBOX.knp.${role}`;

/** The server refused the identity or the TLS handshake: which identity and servers, never a secret. */
export class NatsConnectError extends InputError {
  override name = 'NatsConnectError';
}

/**
 * Connects to NATS as `settings` say: servers, one authentication method (secrets read from their files
 * now, never logged), TLS with a CA and an optional client certificate, and the inbox prefix of `role`.
 * `extra` adds the caller's options (timeouts, reconnect policy). A refused identity or TLS handshake is a
 * NatsConnectError naming the identity; an unreachable server is the client's own error.
 */
export async function connectNats(settings: NatsClientSettings, role: NatsRole, extra: ConnectionOptions = {}): Promise<NatsConnection> {
  const options = { name: `knp-${role}`, ...extra, ...natsConnectionOptions(settings), inboxPrefix: inboxPrefix(role) };
  try {
    return await connect(options);
  } catch (err) {
    const reason = refusal(err);
    if (reason === undefined) throw err;
    throw new NatsConnectError(`NATS at ${settings.servers.join(',')} refused ${describeNatsAuth(settings.auth)}${settings.tls ? ' over TLS' : ''}: ${reason}`, { cause: err });
  }
}

/** The client options for `settings` (reads the secret files; exported for tests). */
export function natsConnectionOptions(settings: NatsClientSettings): ConnectionOptions {
  return {
    servers: [...settings.servers],
    ...authOptions(settings.auth),
    ...(settings.tls ? { tls: { ...settings.tls } } : {}),
  };
}

/** Why the server refused us, when it did (authentication or TLS), as a short phrase; undefined otherwise. */
function refusal(err: unknown): string | undefined {
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'BAD_CREDS') return 'the credentials file could not be read as a user JWT and seed';
  if (/AUTHORIZATION_VIOLATION|AUTHENTICATION_EXPIRED|ACCOUNT_EXPIRED/i.test(code) || /authorization violation|authentication/i.test(message)) return 'authorization violation (wrong or unknown credentials)';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/i.test(code) || /certificate|tls|ssl/i.test(message)) return `TLS failed (${message.replace(/\s+/g, ' ').slice(0, 200)})`;
  return undefined;
}

/** A secret file's trimmed content; an empty one is a configuration problem naming the variable. */
function secret(path: string, variable: string): string {
  const text = readFileSync(path, 'utf8').trim();
  if (text === '') throw new ConfigError([`${variable}: ${JSON.stringify(path)} is empty`]);
  return text;
}

function authOptions(auth: NatsAuth): ConnectionOptions {
  switch (auth.kind) {
    case 'none':
      return {};
    case 'user':
      return { user: auth.user, pass: auth.password ?? secret(auth.passwordFile!, 'KNP_NATS_PASSWORD_FILE') };
    case 'token':
      return { token: secret(auth.tokenFile, 'KNP_NATS_TOKEN_FILE') };
    case 'nkey': {
      const seed = secret(auth.seedFile, 'KNP_NATS_NKEY_FILE');
      if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new ConfigError([`KNP_NATS_NKEY_FILE: ${JSON.stringify(auth.seedFile)} does not hold a user NKey seed (SU + 56 base32 characters)`]);
      return { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) };
    }
    case 'creds': {
      const creds = secret(auth.credsFile, 'KNP_NATS_CREDS');
      if (!creds.includes('BEGIN NATS USER JWT') || !creds.includes('BEGIN USER NKEY SEED'))
        throw new ConfigError([`KNP_NATS_CREDS: ${JSON.stringify(auth.credsFile)} is not a NATS credentials file (user JWT and NKey seed)`]);
      // the client's parser needs the newline after each END line, which trimming removed
      return { authenticator: credsAuthenticator(new TextEncoder().encode(`${creds}\n`)) };
    }
  }
}
