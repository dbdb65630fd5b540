/**
 * What event signatures cost the compiler: the same history published unsigned and signed (Ed25519 via
 * node:crypto, origin header) to two prefixes of one private nats-server, then a compiler from scratch on
 * each, timed to caught up (read, verify, guard, fold, compile, publish). Also the verification alone, in
 * memory. KNP_BENCH_SIGNED_EVENTS (default 50,000) sets the history's size. Prints figures, asserts nothing
 * on time. Run: node dist/bench/signed-fold.bench.js
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  EVENT_SCHEMA, checkEventSignature, createLogger, eventSignatureHeaders, generateSigningKeyPair, loadConfig, names, signingKeyFrom,
  WATCHED_KINDS, type ClusterEvent, type SigningSettings,
} from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams, publishLarge } from '@knp/shared/nats';
import { headers as natsHeaders, connect, type NatsConnection } from 'nats';
import { startNatsServer } from '@knp/sim';
import { foldLiveUids } from '@knp/testing';
import { history } from '@knp/testing/history';
import { runCompiler } from '../src/service/compiler-service.js';

const CHURN = Number(process.env.KNP_BENCH_SIGNED_EVENTS ?? 50_000);
const log = createLogger('bench', process.env.KNP_BENCH_LOG ?? 'warn');
const pair = generateSigningKeyPair();
const key = signingKeyFrom(createPrivateKey(pair.privatePem));
const trusted = new Map([[pair.keyId, createPublicKey(pair.publicPem)]]);

const events: ClusterEvent[] = history({ seed: 11, churn: CHURN, podsPerNode: 300 });
const live = foldLiveUids(events);
for (const kind of WATCHED_KINDS)
  events.push({ schema: EVENT_SCHEMA, op: 'sync', kind, resourceVersion: '1', syncId: `bench-${kind.toLowerCase()}`, chunk: 0, chunks: 1, uids: live[kind] });
/** The watcher's subjects (sync markers on `<prefix>.ev.sync.<kind>`). */
const subjectOf = (prefix: string, e: ClusterEvent): string =>
  e.op === 'sync' ? `${prefix}.ev.sync.${e.kind.toLowerCase()}` : names(prefix).eventSubject(e.kind, e.kind === 'Namespace' ? undefined : e.namespace, e.name);

async function publishAll(nc: NatsConnection, prefix: string, signed: boolean): Promise<number> {
  await ensureStreams(nc, prefix, DEFAULT_STREAM_SETTINGS);
  const js = nc.jetstream();
  const t0 = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (const [i, e] of events.entries()) {
    const data = Buffer.from(JSON.stringify(e));
    const h = signed ? natsHeaders() : undefined;
    if (h) for (const [k, v] of eventSignatureHeaders(key, { start: 1, counter: i + 1 }, data)) h.set(k, v);
    const p: Promise<unknown> = publishLarge(js, subjectOf(prefix, e), data, { maxPayload: nc.info!.max_payload, msgID: `${prefix}-${i}`, ...(h ? { headers: h } : {}) }).then(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 256) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return performance.now() - t0;
}

async function foldFromScratch(url: string, nc: NatsConnection, prefix: string, signing: SigningSettings): Promise<{ ms: number; published: number; refused: number }> {
  const t0 = performance.now();
  const h = await runCompiler(loadConfig({ KNP_NATS_URL: url, KNP_PREFIX: prefix }), log, { nc, settings: { snapshotEveryEvents: 0, snapshotEveryMs: 0, heartbeatMs: 1_000, signing } });
  await h.caughtUp();
  const ms = performance.now() - t0;
  const s = h.status();
  await h.stop();
  return { ms, published: s.published, refused: s.input?.refused ?? 0 };
}

const line = (what: string, value: string): void => void process.stdout.write(`  ${what.padEnd(58)} ${value}\n`);
process.stdout.write(`signed vs unsigned fold: ${events.length.toLocaleString('en-US')} events; ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}\n`);

// in memory: verification alone, per event
const samples = events.slice(0, 5_000).map((e, i) => {
  const data = Buffer.from(JSON.stringify(e));
  const m = eventSignatureHeaders(key, { start: 1, counter: i + 1 }, data);
  return { data, headers: { get: (n: string) => m.get(n) ?? '' } };
});
let t = performance.now();
for (const s of samples) if ('refusal' in checkEventSignature({ mode: 'signed', keys: trusted }, s.headers, s.data)) throw new Error('bench: a signature did not verify');
const verifyUs = ((performance.now() - t) * 1000) / samples.length;
line('verify one event (checkEventSignature)', `${verifyUs.toFixed(1)} µs`);
t = performance.now();
for (const s of samples) eventSignatureHeaders(key, { start: 1, counter: 1 }, s.data);
line('sign one event (watcher side)', `${(((performance.now() - t) * 1000) / samples.length).toFixed(1)} µs`);

const nats = await startNatsServer();
const nc = await connect({ servers: nats.url });
line('publish unsigned', `${((await publishAll(nc, 'unsig', false)) / 1000).toFixed(2)} s`);
line('publish signed', `${((await publishAll(nc, 'sig', true)) / 1000).toFixed(2)} s`);
const unsigned = await foldFromScratch(nats.url, nc, 'unsig', { signer: undefined, watchers: { mode: 'unsigned' }, compilers: { mode: 'unsigned' } });
const signed = await foldFromScratch(nats.url, nc, 'sig', { signer: key, watchers: { mode: 'signed', keys: trusted }, compilers: { mode: 'signed', keys: trusted } });
if (signed.refused > 0) throw new Error(`bench: ${signed.refused} signed events refused`);
if (signed.published !== unsigned.published) throw new Error(`bench: ${signed.published} rule sets published signed, ${unsigned.published} unsigned`);
line('compiler from scratch to caught up, unsigned', `${(unsigned.ms / 1000).toFixed(2)} s (${Math.round(events.length / (unsigned.ms / 1000)).toLocaleString('en-US')} events/s)`);
line('compiler from scratch to caught up, signed', `${(signed.ms / 1000).toFixed(2)} s (${Math.round(events.length / (signed.ms / 1000)).toLocaleString('en-US')} events/s)`);
line('signed / unsigned', `${(signed.ms / unsigned.ms).toFixed(2)}x`);
await nc.close();
await nats.stop();
