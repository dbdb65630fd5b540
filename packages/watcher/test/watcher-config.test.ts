import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '@knp/shared';
import { loadWatcherSettings } from '../src/watcher-config.js';

const C = suite('loadWatcherSettings');
C('defaults keep the full history with one replica', () => {
  const s = loadWatcherSettings({});
  assert.equal([s.streams.replicas, s.streams.eventsMaxAgeMs, s.streams.eventsMaxBytes, s.heartbeatMs, s.kubeconfig], [1, 0, 0, 10_000, undefined]);
});
C('KUBECONFIG names the file to reach the API with (unset: in-cluster)', () => {
  assert.is(loadWatcherSettings({ KUBECONFIG: '/etc/knp/kubeconfig' }).kubeconfig, '/etc/knp/kubeconfig');
});
C('the operator may bound the events stream by age and size', () => {
  const s = loadWatcherSettings({ KNP_EVENTS_MAX_AGE_S: '86400', KNP_EVENTS_MAX_BYTES: '1073741824', KNP_STREAM_REPLICAS: '3' });
  assert.equal([s.streams.replicas, s.streams.eventsMaxAgeMs, s.streams.eventsMaxBytes], [3, 86_400_000, 1_073_741_824]);
});
C('every bad value is listed at once', () => {
  try {
    loadWatcherSettings({ KNP_STREAM_REPLICAS: '0', KNP_EVENTS_MAX_AGE_S: '1d', KNP_HEARTBEAT_S: '-1' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.equal((err as ConfigError).problems.map((p) => p.split(':')[0]), ['KNP_STREAM_REPLICAS', 'KNP_EVENTS_MAX_AGE_S', 'KNP_HEARTBEAT_S']);
  }
});
C.run();
