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
C('lease and queue defaults: knp/knp-watcher, 15 s lease renewed every 2 s, 10000 events, pages of 500', () => {
  const s = loadWatcherSettings({});
  assert.equal([s.lease, s.maxQueue, s.listPageSize], [{ namespace: 'knp', name: 'knp-watcher', durationS: 15, renewS: 2 }, 10_000, 500]);
});
C('a shorter lease for tests, another Lease name and namespace', () => {
  const s = loadWatcherSettings({ KNP_LEASE_NAMESPACE: 'ops', KNP_LEASE_NAME: 'w-1', KNP_LEASE_DURATION_S: '3', KNP_LEASE_RENEW_S: '1', KNP_WATCHER_MAX_QUEUE: '50', KNP_LIST_PAGE_SIZE: '7' });
  assert.equal([s.lease, s.maxQueue, s.listPageSize], [{ namespace: 'ops', name: 'w-1', durationS: 3, renewS: 1 }, 50, 7]);
});
C('a renew period the holder cannot keep within its deadline, and bad names, are refused', () => {
  try {
    loadWatcherSettings({ KNP_LEASE_DURATION_S: '3', KNP_LEASE_RENEW_S: '2', KNP_LEASE_NAME: 'Bad_Name', KNP_LEASE_NAMESPACE: 'a/b' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.equal((err as ConfigError).problems.map((p) => p.split(':')[0]), ['KNP_LEASE_RENEW_S', 'KNP_LEASE_NAMESPACE', 'KNP_LEASE_NAME']);
  }
});
C.run();
