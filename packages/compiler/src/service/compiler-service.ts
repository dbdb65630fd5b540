import { randomUUID } from 'node:crypto';
import type { Config, Logger } from '@knp/shared';
import type { CompilerHandle, CompilerOptions } from './compiler-handle.js';
import { Compiler } from './compiler.js';
import { CompilerOps } from './compiler-ops.js';
import { connectCompiler } from './connect.js';
import { DEFAULT_COMPILER_SETTINGS, type CompilerSettings } from './settings.js';

export type { CompilerHandle, CompilerOptions } from './compiler-handle.js';
export type { Evaluation } from './evaluation.js';
export { FOLD_CHUNK } from './session.js';

/**
 * The compiler service: loads the newest snapshot of the events stream's epoch, replays the stream after it,
 * folds the whole backlog, then compiles every node once and publishes what changed; afterwards it follows,
 * recompiling the nodes each event affects (every node after a batch of several). Publishing goes through
 * RulesStore: one copy per version, never backwards, safe with several replicas. See README "Compiler".
 */
export async function runCompiler(config: Config, logger: Logger, opts: CompilerOptions = {}): Promise<CompilerHandle> {
  const settings: CompilerSettings = { ...DEFAULT_COMPILER_SETTINGS, ...opts.settings };
  const instance = randomUUID();
  const log = logger.child({ component: 'compiler', instance });
  const ops = new CompilerOps(); // served while the start waits for NATS: alive, not ready
  const httpPort = await ops.serve(config.httpPort, log.child({ component: 'ops' }));
  const nats = await connectCompiler(config, settings, opts.nc, log).catch(async (err: unknown) => {
    await ops.close();
    throw err;
  });
  return new Compiler(nats, settings, opts, instance, log, ops, httpPort).start();
}
