import { loadManifests } from './load-manifests.js';
import { emptyState, eventsFromObjects, evolveAll, type ClusterState } from '@knp/compiler';
import type { CommandIo } from './io.js';

/** Loads manifests and folds them into cluster state; object-level problems go to stderr. */
export function clusterFromManifests(paths: readonly string[], io: CommandIo): ClusterState {
  const { events, errors } = eventsFromObjects(loadManifests(paths));
  for (const e of errors) io.err(`skipped: ${e}\n`);
  return evolveAll(emptyState(), events);
}
