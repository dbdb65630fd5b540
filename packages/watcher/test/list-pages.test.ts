import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@knp/shared';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startStandin } from '@knp/sim';
import { listAllPages, type ListPage } from '../src/informers.js';

// Paged lists against the stand-in over HTTP, through the client's listPodForAllNamespaces(limit, _continue).
const P = suite('listAllPages');
const log = createLogger('watcher-test', 'silent');

const setup = async (pods: number) => {
  const standin = await startStandin();
  for (let i = 0; i < pods; i += 1) standin.create('Pod', { metadata: { name: `p${String(i).padStart(3, '0')}`, namespace: 'default' } });
  const kc = new KubeConfig();
  kc.loadFromString(standin.kubeconfig());
  const api = kc.makeApiClient(CoreV1Api);
  const page: ListPage = (p) => api.listPodForAllNamespaces(p);
  return { standin, page };
};

P('a list of 25 in pages of 10: three requests, every item once, the first page\'s resourceVersion', async () => {
  const { standin, page } = await setup(25);
  const rv = standin.resourceVersion();
  let calls = 0;
  const list = await listAllPages((p) => {
    calls += 1;
    // a change between pages is not in this list (the snapshot) but after its resourceVersion (the watch)
    if (calls === 2) standin.create('Pod', { metadata: { name: 'late', namespace: 'default' } });
    return page(p);
  }, 10, log, 'Pod');
  assert.is(calls, 3);
  assert.is(list.items.length, 25);
  assert.is(new Set(list.items.map((o) => o.metadata?.name)).size, 25);
  assert.is(list.metadata?.resourceVersion, rv);
  assert.is(standin.stats.lists, 3);
  await standin.close();
});

P('an expired continue token (410) lists again from scratch', async () => {
  const { standin, page } = await setup(25);
  let calls = 0;
  const list = await listAllPages((p) => {
    calls += 1;
    if (calls === 2) standin.expireHistory(); // the snapshot behind the token is gone
    return page(p);
  }, 10, log, 'Pod');
  assert.is(calls, 5); // page 1, 410, then pages 1-3 again
  assert.is(list.items.length, 25);
  assert.is(standin.stats.gone, 1);
  await standin.close();
});

P('other errors fail the list (the informer restarts it with backoff)', async () => {
  const { standin, page } = await setup(5);
  standin.failNext(1);
  try {
    await listAllPages(page, 10, log, 'Pod');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: number }).code, 500);
  }
  await standin.close();
});
P.run();
