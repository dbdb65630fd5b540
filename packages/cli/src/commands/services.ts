import { serviceMain } from '@knp/shared';
import { compilerService } from '@knp/compiler/service';
import { applierService } from '@knp/node-applier/service';
import { watcherService } from '@knp/watcher';
import type { Command } from '../command.js';

/** The long-running services, as commands: each runs until SIGINT/SIGTERM (see `serviceMain`). */
export const serviceCommands: readonly Command[] = [
  { name: 'watcher', summary: 'list and watch the Kubernetes API and append events to JetStream (service)', usage: watcherService.usage, run: (argv) => serviceMain(argv, watcherService) },
  { name: 'compiler', summary: 'replay the events stream and publish a rule set per node (service; several replicas are safe)', usage: compilerService.usage, run: (argv) => serviceMain(argv, compilerService) },
  { name: 'applier', summary: 'enforce this node\'s rule sets in the kernel (service; KNP_NODE_NAME required)', usage: applierService.usage, run: (argv) => serviceMain(argv, applierService) },
];
