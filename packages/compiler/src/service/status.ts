import type { Rejection } from '../rejection.js';

/** Status bucket keys: one heartbeat record per replica, one rejection list for the cluster. */
export const compilerStatusKey = (instance: string): string => `compiler.${instance}`;
export const REJECTIONS_KEY = 'compiler.rejections';
export const COMPILER_STATUS_SCHEMA = 1;

/** What a compiler replica records on every heartbeat and after every evaluation. */
export type CompilerStatus = {
  readonly schema: typeof COMPILER_STATUS_SCHEMA;
  readonly instance: string;
  readonly epoch: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Stream sequence of the last message consumed. */
  readonly lastSeq: number;
  /** Consumed sequence the last evaluation (compile + publish) covered. */
  readonly evaluatedSeq: number;
  /** The backlog present at start has been folded and evaluated once. */
  readonly caughtUp: boolean;
  /** Snapshot the replica started from (0: the start of the stream). */
  readonly startedFromSeq: number;
  readonly lastSnapshotSeq: number;
  readonly nodes: number;
  readonly published: number;
  readonly adopted: number;
  readonly behind: number;
  readonly errors: number;
};

/** The rejected policies of the whole cluster as of `seq` (capped; `count` is the full number). */
export type RejectionsRecord = {
  readonly schema: typeof COMPILER_STATUS_SCHEMA;
  readonly epoch: string;
  readonly seq: number;
  readonly count: number;
  readonly rejections: readonly Rejection[];
};

export const MAX_RECORDED_REJECTIONS = 1_000;
