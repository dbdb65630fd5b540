import { ConfigError, createLogger, loadConfig, readSigningSettings, type Logger, type SigningSettings } from '@knp/shared';
import type { ClusterState } from '@knp/compiler';
import { foldStream, seqAtTime } from '@knp/compiler/service';
import type { NatsConnection } from 'nats';
import { connectNats } from '@knp/shared/nats';
import type { Env } from './io.js';
import { UsageError } from './io.js';

/** Which moment of the stream to look at: its head, a sequence, or a wall-clock time. */
export type Moment = { readonly kind: 'now' } | { readonly kind: 'seq'; readonly seq: number } | { readonly kind: 'time'; readonly timeMs: number };

export type LiveState = { readonly state: ClusterState; readonly seq: number; readonly epoch: string; readonly moment: Moment };

/** Parses `--at-seq S`: a stream sequence. */
export function parseSeqFlag(text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`--at-seq ${JSON.stringify(text)}: expected a stream sequence (1, 2, ...)`);
  return Number(text);
}

/** What an operator command folding the stream trusts (KNP_TRUSTED_WATCHER_KEYS, KNP_TRUSTED_COMPILER_KEYS), as a compiler would. */
export type Operator = { nc: NatsConnection; prefix: string; log: Logger; signing: SigningSettings };

/** The signing settings of an operator command; a key file that cannot be read is a ConfigError (exit 2). */
export function operatorSigning(env: Env, log: Logger): SigningSettings {
  const problems: string[] = [];
  const signing = readSigningSettings(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (signing.watchers.mode === 'unsigned') log.warn('event signing off: KNP_TRUSTED_WATCHER_KEYS is unset, every event in the stream is folded');
  return signing;
}

/** A connection for a one-shot operator command, with a logger on stderr (stdout carries the answer). */
export async function operatorConnection(env: Env, name: string): Promise<Operator> {
  const config = loadConfig(env);
  const log = createLogger(name, config.logLevel === 'info' ? 'warn' : config.logLevel, 2);
  const signing = operatorSigning(env, log);
  const nc = await connectNats(config.nats, 'operator', { name: `knp-${name}`, timeout: 5_000 });
  return { nc, prefix: config.prefix, log, signing };
}

/** The cluster state folded from the events stream as of `moment` (the newest snapshot before it, then events). */
export async function liveState(nc: NatsConnection, prefix: string, moment: Moment, log: Logger, signing?: SigningSettings): Promise<LiveState> {
  let toSeq: number | undefined;
  if (moment.kind === 'seq') toSeq = moment.seq;
  if (moment.kind === 'time') {
    toSeq = await seqAtTime(await nc.jetstreamManager(), prefix, moment.timeMs);
    if (toSeq === 0) throw new UsageError(`the events stream holds nothing at or before ${new Date(moment.timeMs).toISOString()}`);
  }
  const folded = await foldStream(nc, prefix, { ...(toSeq !== undefined ? { toSeq } : {}), ...(signing ? { signing } : {}), log });
  if (folded.input.refused > 0) log.warn({ refused: folded.input.refused, byReason: folded.input.refusedByReason }, 'events refused while folding');
  return { state: folded.state, seq: folded.state.seq, epoch: folded.epoch, moment };
}
