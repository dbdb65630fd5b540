import type { Config, Logger } from '@knp/shared';
import { awaitStreams, connectNats, type Streams } from '@knp/shared/nats';
import { type JetStreamClient, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import type { CompilerSettings } from './settings.js';
import { SnapshotStore } from './snapshots.js';

/** What the compiler works with on NATS: made once, kept across passes. */
export type CompilerNats = {
  readonly prefix: string;
  readonly nc: NatsConnection;
  /** The connection was made here, so stopping closes it (one passed in is left open). */
  readonly ownsConnection: boolean;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The streams as ensured at start (their epoch is the first pass's). */
  readonly streams: Streams;
  readonly statusBucket: KV;
  readonly snapshots: SnapshotStore;
};

/** The streams a compiler reads and writes: events in, rules out, its status keys, snapshots. */
export const COMPILER_NEEDS = ['events', 'rules', 'sets', 'status', 'snapshots'] as const;

/**
 * The connect step: the connection (unless given), the streams `knp init` made (waited for, with backoff,
 * while missing), the status bucket and the snapshot store.
 */
export async function connectCompiler(config: Config, settings: CompilerSettings, given: NatsConnection | undefined, log: Logger): Promise<CompilerNats> {
  const nc = given ?? (await connectNats(config.nats, 'compiler', { maxReconnectAttempts: -1, waitOnFirstConnect: true }));
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const streams = (await awaitStreams(nc, config.prefix, COMPILER_NEEDS, log))!;
  const statusBucket = await js.views.kv(streams.statusBucket);
  const { signer, compilers, watchers } = settings.signing;
  const snapshots = await SnapshotStore.open(js, config.prefix, log, { signer, trust: compilers, requireSignedFold: watchers.mode === 'signed' });
  return { prefix: config.prefix, nc, ownsConnection: given === undefined, js, jsm, streams, statusBucket, snapshots };
}
