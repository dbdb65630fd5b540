import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, generateSigningKeyPair } from '@knp/shared';
import { DEFAULT_COMPILER_SETTINGS, loadCompilerSettings } from '../../src/service/settings.js';

const Settings = suite('loadCompilerSettings');

Settings('defaults when nothing is set', () => assert.equal(loadCompilerSettings({}), DEFAULT_COMPILER_SETTINGS));

Settings('reads every variable', () => {
  const s = loadCompilerSettings({ KNP_SNAPSHOT_EVENTS: '500', KNP_SNAPSHOT_S: '0', KNP_HEARTBEAT_S: '2', KNP_COMPILER_MAX_BATCH: '64' });
  assert.equal([s.snapshotEveryEvents, s.snapshotEveryMs, s.heartbeatMs, s.maxBatchEvents], [500, 0, 2000, 64]);
});

Settings('lists every problem with variable and value', () => {
  try {
    loadCompilerSettings({ KNP_SNAPSHOT_EVENTS: '-1', KNP_HEARTBEAT_S: '0', KNP_COMPILER_MAX_BATCH: 'three' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    const problems = (err as ConfigError).problems;
    assert.is(problems.length, 3);
    assert.match(problems.join('\n'), /KNP_SNAPSHOT_EVENTS: "-1"[\s\S]*KNP_HEARTBEAT_S: "0"[\s\S]*KNP_COMPILER_MAX_BATCH: "three"/);
  }
});

Settings('a compiler that signs, given no compiler keys, trusts its own key (never an unsigned forgery)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'knp-settings-'));
  try {
    const pair = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    writeFileSync(join(dir, 'own.key'), pair.privatePem);
    writeFileSync(join(dir, 'other.pub'), other.publicPem);
    const own = loadCompilerSettings({ KNP_SIGNING_KEY: join(dir, 'own.key') }).signing.compilers;
    assert.is(own.mode, 'signed');
    assert.equal(own.mode === 'signed' && [...own.keys.keys()], [pair.keyId]);
    const given = loadCompilerSettings({ KNP_SIGNING_KEY: join(dir, 'own.key'), KNP_TRUSTED_COMPILER_KEYS: join(dir, 'other.pub') }).signing.compilers;
    assert.equal(given.mode === 'signed' && [...given.keys.keys()], [other.keyId], 'a given list is used as it is');
    assert.is(loadCompilerSettings({}).signing.compilers.mode, 'unsigned', 'no key, no trust: unsigned, with a warning');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Settings.run();
