import { applierService } from '@knp/node-applier/service';
import { serviceCommand } from './service.js';

export const applierCommand = serviceCommand(applierService);
