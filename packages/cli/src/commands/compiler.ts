import { compilerService } from '@knp/compiler/service';
import { serviceCommand } from './service.js';

export const compilerCommand = serviceCommand(compilerService);
