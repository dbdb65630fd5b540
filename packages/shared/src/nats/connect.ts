import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import type { NatsAuth, NatsClientSettings } from '../nats-settings.js';

/**
 * Connects to NATS as `settings` say: servers, one authentication method (secrets read from their files
 * now, never logged), TLS with a CA and an optional client certificate. `extra` adds the caller's options
 * (name, timeouts, reconnect policy).
 */
export function connectNats(settings: NatsClientSettings, extra: ConnectionOptions = {}): Promise<NatsConnection> {
  return connect({ ...extra, ...natsConnectionOptions(settings) });
}

/** The client options for `settings` (reads the secret files; exported for tests). */
export function natsConnectionOptions(settings: NatsClientSettings): ConnectionOptions {
  return {
    servers: [...settings.servers],
    ...authOptions(settings.auth),
    ...(settings.tls ? { tls: { ...settings.tls } } : {}),
  };
}

const secret = (path: string): string => readFileSync(path, 'utf8').trim();

function authOptions(auth: NatsAuth): ConnectionOptions {
  switch (auth.kind) {
    case 'none':
      return {};
    case 'user':
      return { user: auth.user, pass: auth.password ?? secret(auth.passwordFile!) };
    case 'token':
      return { token: secret(auth.tokenFile) };
    case 'nkey':
      return { authenticator: nkeyAuthenticator(new TextEncoder().encode(secret(auth.seedFile))) };
    case 'creds':
      return { authenticator: credsAuthenticator(readFileSync(auth.credsFile)) };
  }
}
