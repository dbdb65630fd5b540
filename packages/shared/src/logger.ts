import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One logger per process; components take children (`log.child({ component: 'applier', node })`).
 * Services log to stdout; a CLI whose stdout is its output (`knp replay`) passes `fd` 2.
 */
export function createLogger(service: string, level = 'info', fd: 1 | 2 = 1): Logger {
  const options = { name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime };
  return fd === 1 ? pino(options) : pino(options, pino.destination(fd));
}
