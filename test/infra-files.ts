import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (tests run from test/dist). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const repoFile = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

/** Every document of a YAML text, as plain values (`<<` merge keys expanded, as compose does); a YAML error throws naming the source. */
export function yamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source} document ${i}: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
}

/** `NODE_VERSION=...` of scripts/dev.sh: the Node.js the project runs on. */
export const devNodeVersion = (): string => /^NODE_VERSION=(\S+)$/m.exec(repoFile('scripts/dev.sh'))![1]!;

/** `path` in a checkout whose test/ holds this file: for tests that copy parts of it. */
export const repoPath = (path: string): string => join(repoRoot, path);
