import { watcherService } from '@knp/watcher';
import { serviceCommand } from './service.js';

export const watcherCommand = serviceCommand(watcherService);
