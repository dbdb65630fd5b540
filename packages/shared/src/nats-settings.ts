import { accessSync, constants, statSync } from 'node:fs';

/** How a client authenticates: at most one method; secrets stay in files (a password may come in the URL). */
export type NatsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly user: string; readonly password?: string; readonly passwordFile?: string }
  | { readonly kind: 'token'; readonly tokenFile: string }
  | { readonly kind: 'nkey'; readonly seedFile: string }
  | { readonly kind: 'creds'; readonly credsFile: string };

/** TLS: a CA to trust, and a client certificate with its key when the server asks for one. */
export type NatsTls = { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };

export type NatsClientSettings = {
  /** Server URLs without credentials (safe to log). */
  readonly servers: readonly string[];
  readonly auth: NatsAuth;
  /** Set when TLS is required: a `tls://` URL or any KNP_NATS_TLS_* variable. */
  readonly tls: NatsTls | undefined;
};

type Env = Readonly<Record<string, string | undefined>>;

const URL_PATTERN = /^(nats|tls|ws|wss):\/\/(?:([^\s/@:]+)(?::([^\s/@]*))?@)?([^\s/@]+)\/?$/;

/**
 * Reads KNP_NATS_URL (comma-separated; `nats://user:password@host:port` allowed), KNP_NATS_USER +
 * KNP_NATS_PASSWORD_FILE, KNP_NATS_NKEY_FILE, KNP_NATS_CREDS, KNP_NATS_TOKEN_FILE, KNP_NATS_TLS_CA,
 * KNP_NATS_TLS_CERT and KNP_NATS_TLS_KEY. Problems (never echoing a secret) are pushed to `problems`.
 */
export function loadNatsSettings(env: Env, problems: string[]): NatsClientSettings {
  const value = (name: string): string | undefined => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const readable = (name: string): string | undefined => {
    const path = value(name);
    if (path === undefined) return undefined;
    try {
      accessSync(path, constants.R_OK);
      if (!statSync(path).isFile()) throw new Error('not a file');
    } catch {
      problems.push(`${name}: ${JSON.stringify(path)} is not a readable file`);
    }
    return path;
  };

  const servers: string[] = [];
  const urlUsers = new Set<string>();
  const urlPasswords = new Set<string>();
  let urlPassword: string | undefined;
  let wantsTls = false;
  for (const text of (value('KNP_NATS_URL') ?? 'nats://127.0.0.1:4222').split(',').map((u) => u.trim()).filter(Boolean)) {
    const m = URL_PATTERN.exec(text);
    if (m) {
      const [, scheme, user, password, host] = m;
      servers.push(`${scheme}://${host}`);
      if (scheme === 'tls' || scheme === 'wss') wantsTls = true;
      if (user !== undefined) {
        const decoded = decodeUserInfo(user, password);
        if (decoded === undefined) problems.push(`KNP_NATS_URL: the user or password of ${scheme}://***@${host} is not valid percent-encoding`);
        else {
          urlUsers.add(decoded.user);
          if (decoded.password !== undefined) urlPasswords.add(decoded.password);
          urlPassword = decoded.password ?? urlPassword;
        }
      }
    } else if (/^[^\s/:@]+:\d+$/.test(text)) servers.push(text);
    else problems.push(`KNP_NATS_URL: ${JSON.stringify(text.replace(/\/\/[^@/]*@/, '//***@'))} is not a nats://host:port URL`);
  }
  if (urlUsers.size > 1) problems.push('KNP_NATS_URL: the URLs name different users; use one identity');
  if (urlPasswords.size > 1) problems.push('KNP_NATS_URL: the URLs give different passwords; use one identity');

  const methods: NatsAuth[] = [];
  const envUser = value('KNP_NATS_USER');
  const passwordFile = readable('KNP_NATS_PASSWORD_FILE');
  if (urlUsers.size > 0 && envUser !== undefined) problems.push('KNP_NATS_USER: a user is also given in KNP_NATS_URL; use one');
  const user = envUser ?? [...urlUsers][0];
  if (user !== undefined) {
    if (envUser !== undefined && passwordFile === undefined) problems.push('KNP_NATS_PASSWORD_FILE: required with KNP_NATS_USER');
    if (envUser === undefined && passwordFile === undefined && urlPassword === undefined && !problems.some((p) => p.startsWith('KNP_NATS_PASSWORD_FILE')))
      problems.push('KNP_NATS_URL: a user without a password; give it in the URL or in KNP_NATS_PASSWORD_FILE');
    if (urlPassword !== undefined && passwordFile !== undefined) problems.push('KNP_NATS_PASSWORD_FILE: a password is also given in KNP_NATS_URL; use one');
    methods.push({ kind: 'user', user, ...(urlUsers.size > 0 && urlPassword !== undefined ? { password: urlPassword } : {}), ...(passwordFile ? { passwordFile } : {}) });
  } else if (passwordFile !== undefined) problems.push('KNP_NATS_PASSWORD_FILE: needs KNP_NATS_USER');
  const tokenFile = readable('KNP_NATS_TOKEN_FILE');
  if (tokenFile) methods.push({ kind: 'token', tokenFile });
  const seedFile = readable('KNP_NATS_NKEY_FILE');
  if (seedFile) methods.push({ kind: 'nkey', seedFile });
  const credsFile = readable('KNP_NATS_CREDS');
  if (credsFile) methods.push({ kind: 'creds', credsFile });
  if (methods.length > 1) problems.push(`NATS authentication: choose one of user/password, KNP_NATS_TOKEN_FILE, KNP_NATS_NKEY_FILE, KNP_NATS_CREDS (${methods.length} given)`);

  const caFile = readable('KNP_NATS_TLS_CA'), certFile = readable('KNP_NATS_TLS_CERT'), keyFile = readable('KNP_NATS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('KNP_NATS_TLS_CERT and KNP_NATS_TLS_KEY: give both or neither');
  const tls = wantsTls || caFile || certFile || keyFile ? { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}) } : undefined;

  return { servers, auth: methods[0] ?? { kind: 'none' }, tls };
}

/** The user and password of a URL, percent-decoded; undefined when the encoding is broken. */
function decodeUserInfo(user: string, password: string | undefined): { user: string; password: string | undefined } | undefined {
  try {
    return { user: decodeURIComponent(user), password: password === undefined ? undefined : decodeURIComponent(password) };
  } catch {
    return undefined;
  }
}

/** Who the settings connect as, for messages and logs: names the variables, never a secret. */
export function describeNatsAuth(auth: NatsAuth): string {
  switch (auth.kind) {
    case 'none':
      return 'no credentials';
    case 'user':
      return `user ${JSON.stringify(auth.user)} (password from ${auth.passwordFile ? 'KNP_NATS_PASSWORD_FILE' : 'KNP_NATS_URL'})`;
    case 'token':
      return 'the token in KNP_NATS_TOKEN_FILE';
    case 'nkey':
      return 'the NKey seed in KNP_NATS_NKEY_FILE';
    case 'creds':
      return 'the credentials in KNP_NATS_CREDS';
  }
}
