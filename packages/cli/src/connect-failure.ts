import { InputError } from '@knp/shared';

/** Why a connect failed, in one line: a refused identity or a bad secret file says so itself; anything else is unreachable. */
export function connectFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof InputError ? message : `NATS unreachable: ${message}`;
}
