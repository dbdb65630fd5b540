import type { CompilerStatus, RuleSet } from '@knp/shared';
import type { NatsConnection } from 'nats';
import type { Evaluation } from './evaluation.js';
import type { CompilerSettings } from './settings.js';

/** What `runCompiler` takes besides the config and the logger. */
export type CompilerOptions = {
  readonly settings?: Partial<CompilerSettings>;
  /** An existing connection (left open by `stop()`); otherwise one is made from `config.nats` as the compiler role. */
  readonly nc?: NatsConnection;
  /** Replay from the start of the stream even when snapshots exist. */
  readonly ignoreSnapshots?: boolean;
  readonly onEvaluated?: (evaluation: Evaluation) => void;
};

/** What `runCompiler` returns: the running service, for its shell, tests and the benchmark. */
export type CompilerHandle = {
  readonly instance: string;
  /** The port /healthz, /readyz and /metrics are served on (config.httpPort; undefined = not served). */
  readonly httpPort: number | undefined;
  status(): CompilerStatus;
  /** Per node, the rule set this replica holds as current: published by it, or the same content adopted from the stream. */
  ruleSets(): ReadonlyMap<string, RuleSet>;
  /** Resolves once everything up to `seq` (default: the stream's last sequence now) is folded and evaluated. */
  caughtUp(seq?: number): Promise<void>;
  /** Writes a snapshot of the state folded so far; resolves with the sequence it covers. */
  snapshot(): Promise<number>;
  stop(): Promise<void>;
};
