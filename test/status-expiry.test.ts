import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { names } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams, loadStreamSettings } from '@knp/shared/nats';
import { connect, nanos, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@knp/sim';

/**
 * Status records of instances that are gone expire (the status bucket's max age, KNP_STATUS_TTL_S), while a
 * live service rewrites its record every heartbeat and keeps it; `knp init` gives an existing bucket the
 * configured TTL. A real nats-server with a TTL of seconds.
 */
type Ctx = { nats: NatsServer; nc: NatsConnection };
const Expiry = suite<Ctx>('status records of gone instances expire');
const PREFIX = 'exp';

Expiry.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
});
Expiry.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Expiry('a record not rewritten within the TTL is gone; one rewritten every heartbeat stays', async (ctx) => {
  await ensureStreams(ctx.nc, PREFIX, { ...DEFAULT_STREAM_SETTINGS, duplicateWindowMs: 1_000, statusTtlMs: 2_000 });
  const kv = await ctx.nc.jetstream().views.kv(names(PREFIX).statusBucket, { bindOnly: true });
  await kv.put('compiler.gone', 'last words');
  const heartbeat = setInterval(() => void kv.put('compiler.live', new Date().toISOString()), 300);
  try {
    await sleep(4_500);
  } finally {
    clearInterval(heartbeat);
  }
  assert.is(await kv.get('compiler.gone'), null, 'the gone instance\'s record expired');
  assert.ok((await kv.get('compiler.live'))?.string(), 'the live one is there');
});

Expiry('knp init gives an existing bucket the configured TTL', async (ctx) => {
  await ensureStreams(ctx.nc, PREFIX, { ...DEFAULT_STREAM_SETTINGS, duplicateWindowMs: 1_000, statusTtlMs: 3_000 });
  const jsm = await ctx.nc.jetstreamManager();
  assert.is((await jsm.streams.info(`KV_${names(PREFIX).statusBucket}`)).config.max_age, nanos(3_000));
});

Expiry('KNP_STATUS_TTL_S: a day by default, at least an hour', () => {
  assert.is(loadStreamSettings({}).statusTtlMs, 86_400_000);
  assert.is(loadStreamSettings({ KNP_STATUS_TTL_S: '7200' }).statusTtlMs, 7_200_000);
  assert.throws(() => loadStreamSettings({ KNP_STATUS_TTL_S: '60' }), /KNP_STATUS_TTL_S/);
});

Expiry.run();
