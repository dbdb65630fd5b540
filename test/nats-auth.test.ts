import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { Service, knp, startNatsServer, type NatsServer } from '@knp/sim';
import { waitFor } from '@knp/testing';

/**
 * Every way a knp command authenticates to NATS, each against a real nats-server configured for it:
 * user/password (in the URL, or a user and a password file), NKey seed, token, creds (operator mode, JWTs
 * minted here) and TLS with a CA and a client certificate. Each method connects; a wrong secret and a
 * missing secret file are refused with a message naming the identity or the variable; no secret ever
 * reaches a command's output or a service's log.
 */

type Method = {
  readonly name: string;
  /** The server's config file text (the test's flags add port, address, store and JetStream). */
  readonly serverConf: string;
  /** The environment that connects (the URL's host and port filled in later). */
  readonly good: (url: string) => Record<string, string>;
  readonly wrong: (url: string) => Record<string, string>;
  /** A secret file that does not exist, and the variable the message must name; none for a URL password. */
  readonly missing?: { env: (url: string) => Record<string, string>; variable: string };
  /** The text that must never be printed or logged. */
  readonly secrets: readonly string[];
  readonly scheme?: 'nats' | 'tls';
};

const dir = mkdtempSync(join(tmpdir(), 'knp-auth-'));
const file = (name: string, text: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const secret = (): string => randomBytes(18).toString('base64url');
const NOPE = join(dir, 'does-not-exist');

function userPasswordMethods(): Method[] {
  const password = secret(), wrongPassword = secret();
  const conf = `authorization { user: knp, password: "${password}" }\n`;
  const passwordFile = file('password', `${password}\n`), wrongFile = file('wrong-password', wrongPassword);
  return [
    {
      name: 'user and password in the URL',
      serverConf: conf,
      good: (url) => ({ KNP_NATS_URL: url.replace('//', `//knp:${encodeURIComponent(password)}@`) }),
      wrong: (url) => ({ KNP_NATS_URL: url.replace('//', `//knp:${encodeURIComponent(wrongPassword)}@`) }),
      secrets: [password, wrongPassword],
    },
    {
      name: 'KNP_NATS_USER and KNP_NATS_PASSWORD_FILE',
      serverConf: conf,
      good: (url) => ({ KNP_NATS_URL: url, KNP_NATS_USER: 'knp', KNP_NATS_PASSWORD_FILE: passwordFile }),
      wrong: (url) => ({ KNP_NATS_URL: url, KNP_NATS_USER: 'knp', KNP_NATS_PASSWORD_FILE: wrongFile }),
      missing: { env: (url) => ({ KNP_NATS_URL: url, KNP_NATS_USER: 'knp', KNP_NATS_PASSWORD_FILE: NOPE }), variable: 'KNP_NATS_PASSWORD_FILE' },
      secrets: [password, wrongPassword],
    },
  ];
}

function tokenMethod(): Method {
  const token = secret(), wrong = secret();
  const good = file('token', token), bad = file('wrong-token', wrong);
  return {
    name: 'KNP_NATS_TOKEN_FILE',
    serverConf: `authorization { token: "${token}" }\n`,
    good: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TOKEN_FILE: good }),
    wrong: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TOKEN_FILE: bad }),
    missing: { env: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TOKEN_FILE: NOPE }), variable: 'KNP_NATS_TOKEN_FILE' },
    secrets: [token, wrong],
  };
}

function nkeyMethod(): Method {
  const user = createUser(), stranger = createUser();
  const seed = new TextDecoder().decode(user.getSeed()), strangerSeed = new TextDecoder().decode(stranger.getSeed());
  const good = file('user.nk', `${seed}\n`), bad = file('stranger.nk', strangerSeed);
  return {
    name: 'KNP_NATS_NKEY_FILE',
    serverConf: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }\n`,
    good: (url) => ({ KNP_NATS_URL: url, KNP_NATS_NKEY_FILE: good }),
    wrong: (url) => ({ KNP_NATS_URL: url, KNP_NATS_NKEY_FILE: bad }),
    missing: { env: (url) => ({ KNP_NATS_URL: url, KNP_NATS_NKEY_FILE: NOPE }), variable: 'KNP_NATS_NKEY_FILE' },
    secrets: [seed, strangerSeed],
  };
}

/** Given limits replace the defaults (0 connections, 0 subscriptions): state every one, JetStream included. */
const UNLIMITED_WITH_JETSTREAM = {
  subs: -1, conn: -1, leaf: -1, imports: -1, exports: -1, data: -1, payload: -1, wildcards: true,
  disk_storage: -1, mem_storage: -1, streams: -1, consumer: -1,
};

/** Operator mode: an operator, an account with JetStream, a user of it; a stranger's creds are of another account. */
async function credsMethod(): Promise<Method> {
  const operator = createOperator(), system = createAccount(), account = createAccount(), user = createUser();
  const operatorJwt = await encodeOperator('knp-test', operator, { system_account: system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount('knp', account, { limits: UNLIMITED_WITH_JETSTREAM } as never, { signer: operator });
  const userJwt = await encodeUser('knp', user, account);
  const good = file('knp.creds', fmtCreds(userJwt, user));
  const otherAccount = createAccount(), stranger = createUser();
  const strangerJwt = await encodeUser('stranger', stranger, otherAccount);
  const bad = file('stranger.creds', fmtCreds(strangerJwt, stranger));
  return {
    name: 'KNP_NATS_CREDS (operator mode, JWTs minted with @nats-io/jwt)',
    // nats-server 2.9 starts JetStream in operator mode only with a system account
    serverConf: `operator: ${operatorJwt}\nsystem_account: ${system.getPublicKey()}\nresolver: MEMORY\n` +
      `resolver_preload: { ${system.getPublicKey()}: ${systemJwt}, ${account.getPublicKey()}: ${accountJwt} }\n`,
    good: (url) => ({ KNP_NATS_URL: url, KNP_NATS_CREDS: good }),
    wrong: (url) => ({ KNP_NATS_URL: url, KNP_NATS_CREDS: bad }),
    missing: { env: (url) => ({ KNP_NATS_URL: url, KNP_NATS_CREDS: NOPE }), variable: 'KNP_NATS_CREDS' },
    secrets: [new TextDecoder().decode(user.getSeed()), new TextDecoder().decode(stranger.getSeed())],
  };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl; a second CA signs nothing we use. */
function tlsMethod(): Method {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  for (const ca of ['ca', 'other-ca']) ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=knp test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=knp ${who}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', `${who}.pem`);
  }
  const at = (name: string): string => join(dir, name);
  const clientKey = readFileSync(at('client.key'), 'utf8');
  return {
    name: 'TLS with a CA and a client certificate (tls:// URL)',
    scheme: 'tls',
    serverConf: `tls { cert_file: "${at('server.pem')}", key_file: "${at('server.key')}", ca_file: "${at('ca.pem')}", verify: true, timeout: 2 }\n`,
    good: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TLS_CA: at('ca.pem'), KNP_NATS_TLS_CERT: at('client.pem'), KNP_NATS_TLS_KEY: at('client.key') }),
    // a CA that did not sign the server: the client refuses the server
    wrong: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TLS_CA: at('other-ca.pem'), KNP_NATS_TLS_CERT: at('client.pem'), KNP_NATS_TLS_KEY: at('client.key') }),
    missing: { env: (url) => ({ KNP_NATS_URL: url, KNP_NATS_TLS_CA: at('ca.pem'), KNP_NATS_TLS_CERT: at('client.pem'), KNP_NATS_TLS_KEY: NOPE }), variable: 'KNP_NATS_TLS_KEY' },
    secrets: [clientKey.split('\n').slice(1, 3).join('\n')],
  };
}

const Auth = suite('NATS authentication, one server per method');
const methods: Method[] = [...userPasswordMethods(), tokenMethod(), nkeyMethod(), await credsMethod(), tlsMethod()];
const servers: NatsServer[] = [];
Auth.after(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const base = { KNP_PREFIX: 'knp', KNP_LOG_LEVEL: 'debug', KNP_HEARTBEAT_S: '1' };
const leaked = (text: string, m: Method): string | undefined => m.secrets.find((s) => text.includes(s));

for (const m of methods)
  Auth(`${m.name}: connects, refuses a wrong or missing secret by name, and never prints the secret`, async () => {
    const conf = file(`${m.name.replace(/\W+/g, '-')}.conf`, m.serverConf);
    const server = await startNatsServer(['-c', conf]);
    servers.push(server);
    const url = server.url.replace('nats://', `${m.scheme ?? 'nats'}://`);

    const init = await knp(['init'], { ...base, ...m.good(url) });
    assert.is(init.code, 0, `knp init: ${init.stderr}`);
    const status = await knp(['status', '--json'], { ...base, ...m.good(url) });
    assert.is(status.code, 0, `knp status: ${status.stderr}`);

    const wrong = await knp(['init'], { ...base, ...m.wrong(url) });
    assert.is(wrong.code, 2, `a wrong secret exits 2: ${wrong.stdout}${wrong.stderr}`);
    assert.match(wrong.stderr, /knp init: NATS at \S+ refused .+: (authorization violation|TLS failed)/);
    assert.not.ok(wrong.stderr.includes('\n    at '), 'no stack trace');

    if (m.missing) {
      const missing = await knp(['status'], { ...base, ...m.missing.env(url) });
      assert.is(missing.code, 2);
      assert.match(missing.stderr, new RegExp(`${m.missing.variable}: .* is not a readable file`));
    }

    // a service at debug level: its whole log, from connect to a clean stop
    const logs = join(dir, 'logs');
    const compiler = new Service(`compiler-${servers.length}`, ['compiler'], { ...base, ...m.good(url) }, logs);
    compiler.start();
    await waitFor('the compiler to start', async () => readFileSync(compiler.logPath, 'utf8').includes('compiler starting'), 15_000).finally(() => compiler.stop());
    const log = readFileSync(compiler.logPath, 'utf8');
    assert.ok(log.includes('compiler starting'), `the compiler connected:\n${log.slice(-2000)}`);

    const printed = [init.stdout, init.stderr, status.stdout, status.stderr, wrong.stdout, wrong.stderr, log].join('\n');
    assert.is(leaked(printed, m), undefined, 'a secret was printed or logged');
  });

Auth.run();
