import { InputError } from '@knp/shared';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export class ManifestError extends InputError {
  override name = 'ManifestError';
}

/** Reads YAML/JSON manifests from files or folders (recursively; multi-document YAML). Throws ManifestError. */
export function loadManifests(paths: readonly string[]): unknown[] {
  const files = paths.flatMap((path) => listFiles(path));
  return files.flatMap((file) => parseFile(file));
}

function listFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new ManifestError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const full = join(path, entry);
      return statSync(full).isDirectory() ? listFiles(full) : ['.yaml', '.yml', '.json'].includes(extname(entry)) ? [full] : [];
    });
}

function parseFile(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  return list.flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new ManifestError(`${file}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}
