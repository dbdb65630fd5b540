import { ConfigError, formatRejection, intVariables } from '@knp/shared';
import { emptyState, eventsFromObjects, evolveAll, type ClusterState } from '@knp/compiler';
import type { CommandIo, Env } from './io.js';
import { DEFAULT_MAX_MANIFEST_BYTES, loadManifests } from './load-manifests.js';
import { safeText } from './safe-text.js';

/**
 * Loads manifests and folds them into cluster state. Files skipped, objects skipped and fields rejected go
 * to stderr (names escaped); the rest compiles. KNP_MAX_MANIFEST_BYTES caps what is read.
 */
export function clusterFromManifests(paths: readonly string[], io: CommandIo, env: Env = {}): ClusterState {
  const problems: string[] = [];
  const maxBytes = intVariables(env, problems)('KNP_MAX_MANIFEST_BYTES', DEFAULT_MAX_MANIFEST_BYTES, 1, Number.MAX_SAFE_INTEGER);
  if (problems.length > 0) throw new ConfigError(problems);
  const objects = loadManifests(paths, { maxBytes, skipped: (what) => io.err(`skipped: ${safeText(what)}\n`) });
  const { events, errors, rejections } = eventsFromObjects(objects);
  for (const e of errors) io.err(`skipped: ${safeText(e)}\n`);
  for (const r of rejections) io.err(`rejected: ${safeText(formatRejection(r))}\n`);
  return evolveAll(emptyState(), events);
}
