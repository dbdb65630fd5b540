import { suite as uvuSuite, type Test } from 'uvu';

/**
 * uvu's `suite`, except that a `before` hook which throws says so. uvu runs the `after` hooks and prints
 * "(0 / N)" but never the error itself, so a fixture that failed to start (a port taken, a server that
 * exited) would leave nothing to read in CI. The error and its stack go to stderr, then uvu goes on as
 * before (the file still counts as failing: no test ran).
 */
export function suite<T = Record<string, unknown>>(name: string, state?: T): Test<T> {
  const s = uvuSuite<T>(name, state);
  const register = s.before;
  const before = ((hook: (ctx: T) => unknown) => register(async (ctx: T) => {
    try {
      await hook(ctx);
    } catch (err) {
      process.stderr.write(`${name}: set-up (before hook) failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      throw err;
    }
  })) as Test<T>['before'];
  before.each = register.each;
  s.before = before;
  return s;
}
