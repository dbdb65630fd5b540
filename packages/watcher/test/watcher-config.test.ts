import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '@knp/shared';
import { loadWatcherSettings } from '../src/watcher-config.js';

const C = suite('loadWatcherSettings');
C('defaults: a 10 s heartbeat and the in-cluster account', () => {
  const s = loadWatcherSettings({});
  assert.equal([s.heartbeatMs, s.kubeconfig], [10_000, undefined]);
});
C('KUBECONFIG names the file to reach the API with (unset: in-cluster)', () => {
  assert.is(loadWatcherSettings({ KUBECONFIG: '/etc/knp/kubeconfig' }).kubeconfig, '/etc/knp/kubeconfig');
});
C('the stream sizing is knp init\'s: the watcher ignores it', () => {
  assert.equal(loadWatcherSettings({ KNP_EVENTS_MAX_AGE_S: '1d', KNP_STREAM_REPLICAS: '0' }).heartbeatMs, 10_000);
});
C('every bad value is listed at once', () => {
  try {
    loadWatcherSettings({ KNP_HEARTBEAT_S: '-1' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.equal((err as ConfigError).problems.map((p) => p.split(':')[0]), ['KNP_HEARTBEAT_S']);
  }
});
C.run();
