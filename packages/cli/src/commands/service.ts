import { serviceMain, type Service } from '@knp/shared';
import type { Command } from '../command.js';

/** A long-running service as a command: it runs until SIGINT/SIGTERM (see `serviceMain`). */
export function serviceCommand<S>(service: Service<S>): Command {
  return { name: service.name, usage: service.usage, run: (argv) => serviceMain(argv, service) };
}
