import { serviceMain, type Service } from '@knp/shared';
import type { Command } from '../command.js';

/**
 * A long-running service as a command: it runs until SIGINT/SIGTERM (see `serviceMain`), then the process
 * exits at once, whatever timers or reconnecting sockets the stopped service still holds.
 */
export function serviceCommand<S>(service: Service<S>): Command {
  return { name: service.name, usage: service.usage, run: async (argv) => process.exit(await serviceMain(argv, service)) };
}
