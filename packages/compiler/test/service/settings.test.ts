import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '@knp/shared';
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

Settings.run();
