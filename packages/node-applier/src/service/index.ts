// `@knp/node-applier/service`: the applier service shell (NATS, state file, status record).
export { runApplierService, type Applied, type ApplierHandle, type ApplierServiceOptions } from './applier-service.js';
export { loadApplierSettings, DEFAULT_APPLIER_SETTINGS, type ApplierSettings } from './settings.js';
export { judgeHandled, isInForce, UNREADABLE_REDELIVERIES, type Handled, type Problem, type Settle, type Verdict } from './handling.js';
export { applierRecord, reportInForce, reportProblem, type ApplierFacts, type Reported } from './applier-record.js';
export { readState, writeState, stateFilePath, stateToStore, type ReadBack, type StoredState, type ReadState } from './state-file.js';
export { durableName, ensureDurable, readNewest } from './rules-source.js';
export { applierService } from './main.js';
