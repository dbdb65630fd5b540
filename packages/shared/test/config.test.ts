import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig, loadTogether, textVariable, names, kernelName, subjectToken, checkSchema, SchemaError } from '../src/index.js';

const Config = suite('loadConfig');
Config('defaults', () => {
  assert.equal(loadConfig({}), { nats: { servers: ['nats://127.0.0.1:4222'], auth: { kind: 'none' }, tls: undefined }, prefix: 'knp', httpPort: undefined, logLevel: 'info' });
});
Config('a comma-separated NATS list', () =>
  assert.equal(loadConfig({ KNP_NATS_URL: 'nats://a:4222, nats://b:4222' }).nats.servers, ['nats://a:4222', 'nats://b:4222']));
Config('every problem is listed with variable and value, secrets redacted', () => {
  try {
    loadConfig({ KNP_PREFIX: 'Knp-1', KNP_HTTP_PORT: '70000', KNP_LOG_LEVEL: 'loud', KNP_NATS_URL: 'nats://user:secret@host:4222/x' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    const text = (err as ConfigError).message;
    for (const v of ['KNP_PREFIX', 'KNP_HTTP_PORT', 'KNP_LOG_LEVEL', 'KNP_NATS_URL']) assert.ok(text.includes(v), v);
    assert.not.ok(text.includes('secret'));
    assert.is((err as ConfigError).problems.length, 4);
  }
});
Config('a service\'s own variables are not read here: a watcher does not fail on a bad KNP_BACKEND', () => {
  const c = loadConfig({ KNP_BACKEND: 'ebpf', KNP_STATE_DIR: 'rel', KNP_NODE_NAME: 'Not A Node', KNP_NETNS: 'a b', KUBECONFIG: '/k' });
  assert.equal(Object.keys(c).sort(), ['httpPort', 'logLevel', 'nats', 'prefix']);
});
for (const prefix of ['k', 'knp', 'abcdefgh', 'a1'])
  Config(`prefix ${prefix} is accepted`, () => assert.is(loadConfig({ KNP_PREFIX: prefix }).prefix, prefix));
for (const prefix of ['abcdefghi', '1abc', 'a-b', 'A', 'a.b'])
  Config(`prefix ${prefix} is refused`, () => assert.throws(() => loadConfig({ KNP_PREFIX: prefix }), (e: unknown) => e instanceof ConfigError));

const Together = suite('loadTogether');
const failing = (...problems: string[]) => (): never => {
  throw new ConfigError(problems);
};
Together('returns every loader\'s value in order when none fails', () => assert.equal(loadTogether(() => 1, () => 'two'), [1, 'two']));
Together('lists the problems of every loader in one ConfigError', () => {
  try {
    loadTogether(failing('A: bad'), () => 2, failing('B: bad', 'C: bad'));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.equal((err as ConfigError).problems, ['A: bad', 'B: bad', 'C: bad']);
  }
});
Together('an error that is not a ConfigError is a bug and passes through', () =>
  assert.throws(() => loadTogether(() => { throw new TypeError('boom'); }), (e: unknown) => e instanceof TypeError));
Together('a blank variable means its default, like an unset one', () => {
  assert.is(textVariable({ X: '  ' }, 'X'), undefined);
  assert.is(textVariable({ X: ' a ' }, 'X'), 'a');
  assert.is(textVariable({}, 'X'), undefined);
});

Config.run();
Together.run();

const Names = suite('names');
Names('kernel names fit iptables (28) and ipset (31) with the longest prefix', () => {
  const name = kernelName('abcdefgh', 'pod', 'anything at all');
  assert.ok(name.length <= 28, name);
  assert.match(name, /^abcdefgh-pod-[0-9a-f]{14}$/);
});
Names('subjects encode API strings so dots and wildcards never split tokens', () => {
  const n = names('knp');
  const subject = n.eventSubject('Pod', 'my.ns', 'web.*>');
  assert.is(subject.split('.').length, 5);
  assert.not.match(subject.split('.').slice(3).join(''), /[*> ]/);
  assert.is(n.eventSubject('Namespace', undefined, 'x'), `knp.ev.namespace.-.${subjectToken('x')}`);
  assert.is(n.rulesSubject('node.example.com').split('.').length, 3);
  assert.is(n.eventsStream, 'KNP_EVENTS');
});
Names.run();

const Schema = suite('checkSchema');
Schema('an unknown schema version is refused with a clear error', () => {
  assert.throws(() => checkSchema('rule set', { schema: 2 }, 1), (e: unknown) => e instanceof SchemaError && /schema version 2 is not supported/.test((e as Error).message));
  checkSchema('rule set', { schema: 1 }, 1);
});
Schema.run();

const Canonical = suite('canonicalJson');
import { canonicalJson } from '../src/index.js';
Canonical('sorts keys at every level and leaves out undefined members', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"z":1}]},"b":1}');
  assert.is(canonicalJson([undefined, 'a']), '[null,"a"]');
  assert.is(canonicalJson(['a', 'b\n']), JSON.stringify(['a', 'b\n']));
  assert.is(canonicalJson(null), 'null');
});
Canonical.run();

const Port = suite('KNP_HTTP_PORT');
const portCases: Array<[text: string | undefined, expected: number | undefined | 'refused']> = [
  [undefined, undefined], ['', undefined], ['0', 0], ['9090', 9090], ['65535', 65535],
  ['65536', 'refused'], ['-1', 'refused'], ['80a', 'refused'], ['000009090', 'refused'],
];
for (const [text, expected] of portCases)
  Port(`${JSON.stringify(text)} -> ${expected ?? 'not served'}`, () => {
    const env = text === undefined ? {} : { KNP_HTTP_PORT: text };
    if (expected === 'refused') assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && /KNP_HTTP_PORT/.test(e.message));
    else assert.is(loadConfig(env).httpPort, expected);
  });
Port.run();
