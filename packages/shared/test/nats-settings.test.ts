import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, describeNatsAuth, loadConfig, loadNatsSettings, type NatsClientSettings } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'knp-nats-settings-'));
const f = join(dir, 'secret');
writeFileSync(f, 'not-shown\n');
const folder = join(dir, 'folder');
mkdirSync(folder);

const load = (env: Record<string, string>): { settings: NatsClientSettings; problems: string[] } => {
  const problems: string[] = [];
  return { settings: loadNatsSettings(env, problems), problems };
};

const Settings = suite('loadNatsSettings');
const accepted: Array<[string, Record<string, string>, Partial<NatsClientSettings>]> = [
  ['nothing set: the local server, no credentials, no TLS', {}, { servers: ['nats://127.0.0.1:4222'], auth: { kind: 'none' }, tls: undefined }],
  ['a user and password in the URL are taken out of the server list', { KNP_NATS_URL: 'nats://knp:p%40ss@a:4222' }, { servers: ['nats://a:4222'], auth: { kind: 'user', user: 'knp', password: 'p@ss' } }],
  ['a user with a password file', { KNP_NATS_USER: 'watcher', KNP_NATS_PASSWORD_FILE: f }, { auth: { kind: 'user', user: 'watcher', passwordFile: f } }],
  ['a token file', { KNP_NATS_TOKEN_FILE: f }, { auth: { kind: 'token', tokenFile: f } }],
  ['an NKey seed file', { KNP_NATS_NKEY_FILE: f }, { auth: { kind: 'nkey', seedFile: f } }],
  ['a creds file', { KNP_NATS_CREDS: f }, { auth: { kind: 'creds', credsFile: f } }],
  ['a tls:// URL requires TLS with the system CAs', { KNP_NATS_URL: 'tls://a:4222' }, { tls: {} }],
  ['a CA alone turns TLS on', { KNP_NATS_TLS_CA: f }, { tls: { caFile: f } }],
  ['a trailing slash after host:port', { KNP_NATS_URL: 'nats://a:4222/, nats://b:4222' }, { servers: ['nats://a:4222', 'nats://b:4222'] }],
  ['a cluster\'s URLs each with the same user and password', { KNP_NATS_URL: 'nats://knp:pw@a:4222,nats://knp:pw@b:4222' }, { servers: ['nats://a:4222', 'nats://b:4222'], auth: { kind: 'user', user: 'knp', password: 'pw' } }],
];
for (const [name, env, expected] of accepted)
  Settings(name, () => {
    const { settings, problems } = load(env);
    assert.equal(problems, []);
    for (const [key, value] of Object.entries(expected)) assert.equal(settings[key as keyof NatsClientSettings], value, key);
  });

const refused: Array<[string, Record<string, string>, RegExp]> = [
  ['two methods at once', { KNP_NATS_TOKEN_FILE: f, KNP_NATS_NKEY_FILE: f }, /choose one of .*\(2 given\)/],
  ['a user without a password file', { KNP_NATS_USER: 'x' }, /KNP_NATS_PASSWORD_FILE: required with KNP_NATS_USER/],
  ['a password file without a user', { KNP_NATS_PASSWORD_FILE: f }, /KNP_NATS_PASSWORD_FILE: needs KNP_NATS_USER/],
  ['a user in the URL without any password', { KNP_NATS_URL: 'nats://knp@a:4222' }, /KNP_NATS_URL: a user without a password/],
  ['a password both in the URL and in a file', { KNP_NATS_URL: 'nats://knp:pw@a:4222', KNP_NATS_PASSWORD_FILE: f }, /a password is also given in KNP_NATS_URL/],
  ['a missing secret file', { KNP_NATS_TOKEN_FILE: join(dir, 'nope') }, /KNP_NATS_TOKEN_FILE: ".*nope" is not a readable file/],
  ['a folder where a file belongs', { KNP_NATS_CREDS: folder }, /KNP_NATS_CREDS: .* is not a readable file/],
  ['a client certificate without its key', { KNP_NATS_TLS_CERT: f }, /give both or neither/],
  ['broken percent-encoding in the URL', { KNP_NATS_URL: 'nats://knp:%E0%A4%A@a:4222' }, /not valid percent-encoding/],
  ['a URL with a path', { KNP_NATS_URL: 'nats://a:4222/x' }, /is not a nats:\/\/host:port URL/],
  ['URLs giving different passwords (the last would win silently)', { KNP_NATS_URL: 'nats://knp:one@a:4222,nats://knp:two@b:4222' }, /the URLs give different passwords/],
];
for (const [name, env, problem] of refused)
  Settings(`refused: ${name}`, () => assert.match(load(env).problems.join('\n'), problem));

Settings('no problem or description ever shows a password', () => {
  const env = { KNP_NATS_URL: 'nats://knp:hunter2@a:4222,nats://other:hunter3@b:4222/x', KNP_NATS_TOKEN_FILE: f };
  const { settings, problems } = load(env);
  assert.not.match(problems.join('\n'), /hunter/);
  assert.not.match(describeNatsAuth(settings.auth), /hunter/);
  try {
    loadConfig(env);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.not.match((err as Error).message, /hunter/);
  }
});
Settings.after(() => rmSync(dir, { recursive: true, force: true }));
Settings.run();
