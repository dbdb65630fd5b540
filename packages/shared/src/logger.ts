import { pino, type Logger } from 'pino';

export type { Logger };

/** One logger per process; components take children (`log.child({ component: 'applier', node })`). */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
