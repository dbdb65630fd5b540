export { compileCommand, COMPILE_USAGE, type Renderer } from './compile-command.js';
export { explainCommand, EXPLAIN_USAGE, parsePortFlag, formatExplanation } from './explain-command.js';
export { loadManifests, ManifestError } from './load-manifests.js';
export { clusterFromManifests } from './cluster-from-manifests.js';
export { UsageError, processIo, type CommandIo } from './io.js';
