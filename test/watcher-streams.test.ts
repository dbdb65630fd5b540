import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { EVENT_SCHEMA, createLogger, names, type ClusterEvent } from '@knp/shared';
import { Publisher } from '@knp/watcher';
import { CHUNK_SIZE, ChunkError, DEFAULT_STREAM_SETTINGS, MAX_LARGE_BYTES, awaitStreams, chunkSubject, ensureStreams, missingStreamsBackoffMs, largeMessageKind, publishLarge, readLarge, streamEpoch } from '@knp/shared/nats';
import { connect, headers as natsHeaders, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@knp/sim';
import { waitFor, suite } from '@knp/testing';

type Ctx = { nats: NatsServer; nc: NatsConnection; jsm: JetStreamManager };
const Streams = suite<Ctx>('streams, epochs and large messages on JetStream');
const silent = createLogger('watcher-streams-test', process.env.KNP_TEST_LOG ?? 'silent');

Streams.before(async (ctx) => {
  ctx.nats = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.nats.url });
  ctx.jsm = await ctx.nc.jetstreamManager();
});
Streams.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.nats?.stop();
});

Streams('streams and bucket are created once; running again changes nothing', async (ctx) => {
  const first = await ensureStreams(ctx.nc, 's1', DEFAULT_STREAM_SETTINGS);
  const again = await Promise.all([1, 2, 3].map(() => ensureStreams(ctx.nc, 's1', DEFAULT_STREAM_SETTINGS)));
  for (const s of again) assert.equal(s, first);
  const events = await ctx.jsm.streams.info(names('s1').eventsStream);
  assert.equal(events.config.subjects, ['s1.ev.>']);
  assert.is(events.config.storage, 'file');
  assert.is(events.config.max_age, 0, 'full history by default');
  assert.is(events.config.duplicate_window, nanos(DEFAULT_STREAM_SETTINGS.duplicateWindowMs));
  const rules = await ctx.jsm.streams.info(names('s1').rulesStream);
  assert.equal(rules.config.subjects, ['s1.rules.*']);
  assert.is(rules.config.max_msgs_per_subject, DEFAULT_STREAM_SETTINGS.rulesPerNode);
  assert.ok(await ctx.jsm.streams.info(`KV_${names('s1').statusBucket}`));
});

Streams('an operator bound (max age, max bytes) is applied to the existing stream, keeping its epoch', async (ctx) => {
  const before = await ensureStreams(ctx.nc, 's2', DEFAULT_STREAM_SETTINGS);
  const after = await ensureStreams(ctx.nc, 's2', { ...DEFAULT_STREAM_SETTINGS, eventsMaxAgeMs: 3_600_000, eventsMaxBytes: 1 << 30 });
  const info = await ctx.jsm.streams.info(names('s2').eventsStream);
  assert.is(info.config.max_age, nanos(3_600_000));
  assert.is(info.config.max_bytes, 1 << 30);
  assert.is(after.epoch, before.epoch);
});

Streams('a stream recreated under the same name has a new epoch', async (ctx) => {
  const { epoch, eventsStream } = await ensureStreams(ctx.nc, 's3', DEFAULT_STREAM_SETTINGS);
  assert.is(await streamEpoch(ctx.jsm, eventsStream), epoch);
  await ctx.jsm.streams.delete(eventsStream);
  assert.is(await streamEpoch(ctx.jsm, eventsStream), undefined);
  const recreated = await ensureStreams(ctx.nc, 's3', DEFAULT_STREAM_SETTINGS);
  assert.is.not(recreated.epoch, epoch);
  assert.is((await ensureStreams(ctx.nc, 's3', DEFAULT_STREAM_SETTINGS)).epoch, recreated.epoch, 'stable afterwards');
});

Streams('a rule set larger than the max payload survives the per-subject limit, and a retry stores nothing twice', async (ctx) => {
  const { rulesStream } = await ensureStreams(ctx.nc, 's4', { ...DEFAULT_STREAM_SETTINGS, rulesPerNode: 2 });
  const js = ctx.nc.jetstream();
  const maxPayload = ctx.nc.info!.max_payload;
  const subject = names('s4').rulesSubject('node-1.example');
  const versions = [1, 2, 3].map(() => randomBytes(Math.floor(maxPayload * 3.5)));
  for (const [i, data] of versions.entries()) await publishLarge(js, subject, data, { maxPayload, msgID: `v${i}` });
  const before = (await ctx.jsm.streams.info(rulesStream)).state.last_seq;
  const retry = await publishLarge(js, subject, versions[2]!, { maxPayload, msgID: 'v2' });
  assert.ok(retry.duplicate);
  assert.is((await ctx.jsm.streams.info(rulesStream)).state.last_seq, before, 'retry with the same id stored nothing');

  const last = await ctx.jsm.streams.getMessage(rulesStream, { last_by_subj: subject });
  assert.is(largeMessageKind(last.header), 'manifest');
  const data = await readLarge(ctx.jsm, rulesStream, { subject: last.subject, data: last.data, headers: last.header });
  assert.ok(Buffer.from(data!).equals(versions[2]!), 'the newest version reassembles byte for byte');
  const part = await ctx.jsm.streams.getMessage(rulesStream, { last_by_subj: chunkSubject(subject, 0) });
  assert.is(await readLarge(ctx.jsm, rulesStream, { subject: part.subject, data: part.data, headers: part.header }), undefined, 'a part reads as nothing');

  // the oldest version's parts were evicted by the per-subject limit: reading it fails loudly, never silently
  const oldest = await ctx.jsm.streams.getMessage(rulesStream, { seq: 1 }).catch(() => undefined);
  assert.is(oldest, undefined);
  const stale = { subject, data: new Uint8Array(0), headers: last.header };
  stale.headers.set('Knp-Chunk-Seqs', '1,2,3,4');
  try {
    await readLarge(ctx.jsm, rulesStream, stale);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ChunkError);
  }
});

Streams('a forged chunk manifest is refused before its parts are held: a size over the limit, or parts longer than declared', async (ctx) => {
  const { rulesStream } = await ensureStreams(ctx.nc, 's4f', DEFAULT_STREAM_SETTINGS);
  const js = ctx.nc.jetstream();
  const maxPayload = ctx.nc.info!.max_payload;
  const subject = names('s4f').rulesSubject('node-1.example');
  await publishLarge(js, subject, randomBytes(Math.floor(maxPayload * 2.5)), { maxPayload });
  const last = await ctx.jsm.streams.getMessage(rulesStream, { last_by_subj: subject });
  // parts fetched: none for a size refused outright, one for parts longer than declared
  let fetched = 0;
  const counting = { streams: { getMessage: (...args: Parameters<JetStreamManager['streams']['getMessage']>) => ((fetched += 1), ctx.jsm.streams.getMessage(...args)) } } as unknown as JetStreamManager;
  const forged = async (size: string): Promise<Error> => {
    const headers = natsHeaders();
    for (const [k, v] of last.header) headers.set(k, v.join(','));
    headers.set(CHUNK_SIZE, size);
    fetched = 0;
    try {
      await readLarge(counting, rulesStream, { subject, data: new Uint8Array(0), headers });
    } catch (err) {
      return err as Error;
    }
    throw new Error(`a manifest declaring ${size} bytes was read`);
  };
  const cases = [[String(MAX_LARGE_BYTES + 1), /declares/, 0], ['1e12', /declares/, 0], ['2', /declares/, 0], ['-1', /declares/, 0], ['x', /declares/, 0], ['', /declares/, 0], ['1000', /more than the 1000 bytes/, 1]] as const;
  for (const [size, says, parts] of cases) {
    const err = await forged(size);
    assert.instance(err, ChunkError, size);
    assert.match(err.message, says, size);
    assert.is(fetched, parts, `${JSON.stringify(size)}: parts fetched`);
  }
  try {
    await publishLarge(js, subject, new Uint8Array(MAX_LARGE_BYTES + 1), { maxPayload });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ChunkError, 'a writer never stores what no reader takes');
  }
});

Streams('the watcher drops an event over the bound, counts it, and publishes the events behind it', async (ctx) => {
  const { eventsStream } = await ensureStreams(ctx.nc, 's4w', DEFAULT_STREAM_SETTINGS);
  const publisher = new Publisher(ctx.nc.jetstream(), { prefix: 's4w', maxPayload: ctx.nc.info!.max_payload, ackTimeoutMs: 5_000, retryMinMs: 50, retryMaxMs: 200, maxEventBytes: 4_096 }, silent);
  const ns = (name: string, object: unknown): ClusterEvent => ({ schema: EVENT_SCHEMA, op: 'added', kind: 'Namespace', uid: `uid-${name}`, name, resourceVersion: '1', object });
  publisher.push([ns('huge', { pad: 'x'.repeat(8_192) }), ns('after', { metadata: { name: 'after' } })]);
  await Promise.race([publisher.idle(), new Promise((_, reject) => setTimeout(() => reject(new Error('the publisher is stuck on the event over the bound')), 5_000))]);
  publisher.stop();
  assert.is(publisher.dropped, 1);
  assert.is(publisher.published, 1);
  const stored = await ctx.jsm.streams.getMessage(eventsStream, { seq: 1 });
  assert.match(Buffer.from(stored.data).toString(), /"name":"after"/, 'the event behind the dropped one was published');
  assert.is((await ctx.jsm.streams.info(eventsStream)).state.messages, 1, 'nothing of the dropped event was stored');
});

Streams('a message that fits is published as one plain message', async (ctx) => {
  const { rulesStream } = await ensureStreams(ctx.nc, 's5', DEFAULT_STREAM_SETTINGS);
  const subject = names('s5').rulesSubject('n');
  await publishLarge(ctx.nc.jetstream(), subject, Buffer.from('{"small":true}'), { maxPayload: ctx.nc.info!.max_payload, expect: { lastSubjectSequence: 0 } });
  const m = await ctx.jsm.streams.getMessage(rulesStream, { last_by_subj: subject });
  assert.is(largeMessageKind(m.header), 'whole');
  assert.is(Buffer.from(m.data).toString(), '{"small":true}');
});

Streams('a service waits for the streams knp init makes, naming what is missing, then goes on', async (ctx) => {
  const warnings: Array<{ missing: string[] }> = [];
  const log = { warn: (obj: object) => void warnings.push(obj as { missing: string[] }) };
  const waiting = awaitStreams(ctx.nc, 's6', ['events', 'rules', 'status', 'snapshots'], log);
  await waitFor('a warning naming what is missing', () => warnings.length > 0);
  assert.equal(warnings[0]!.missing, ['S6_EVENTS', 'S6_RULES', 'KV_S6_status', 'OBJ_S6_snapshots']);
  const made = await ensureStreams(ctx.nc, 's6', DEFAULT_STREAM_SETTINGS);
  const found = await waiting;
  assert.is(found?.epoch, made.epoch, 'it found the events stream knp init made');
  assert.ok(await ctx.jsm.streams.info(`OBJ_${names('s6').snapshotBucket}`), 'knp init makes the snapshot store too');
});

Streams('waiting for streams ends when the service stops', async (ctx) => {
  let stopping = false;
  const waiting = awaitStreams(ctx.nc, 's7', ['events'], { warn: () => void (stopping = true) }, () => stopping);
  assert.is(await waiting, undefined);
});

Streams('the wait between looks doubles from 250 ms up to 10 s', () => {
  assert.equal([0, 1, 2, 5, 6, 20].map(missingStreamsBackoffMs), [250, 500, 1_000, 8_000, 10_000, 10_000]);
});

Streams.run();
