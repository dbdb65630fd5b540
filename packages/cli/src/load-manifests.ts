import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '@knp/shared';
import { parseAllDocuments } from 'yaml';

export class ManifestError extends InputError {
  override name = 'ManifestError';
}

/** KNP_MAX_MANIFEST_BYTES: the most all manifests of one command may hold together (default 64 MiB). */
export const DEFAULT_MAX_MANIFEST_BYTES = 64 * 2 ** 20;
/** YAML aliases expanded per document at most: a few real uses, never an alias bomb. */
const MAX_ALIASES = 100;

export type LoadOptions = {
  readonly maxBytes?: number;
  /** Told about every file or entry skipped (not a regular file, a dangling link, a link loop). */
  readonly skipped?: (what: string) => void;
};

/**
 * Reads YAML/JSON manifests from files or folders (recursively, `.yaml`, `.yml`, `.json`; multi-document
 * YAML). Only regular files are read: a FIFO, device or socket is skipped (never opened, so nothing hangs),
 * as are dangling links and link loops inside folders; a folder reached twice through links is read once.
 * A path named on the command line that is missing or unreadable, a file that does not parse, an alias bomb
 * or more than `maxBytes` in all is a ManifestError naming the file.
 */
export function loadManifests(paths: readonly string[], options: LoadOptions = {}): unknown[] {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const files: { path: string; size: number }[] = [];
  const seenDirs = new Set<string>();
  const skip = (what: string): void => options.skipped?.(what);

  const visit = (path: string, named: boolean): void => {
    let stat: Stats;
    try {
      stat = statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (named) throw new ManifestError(`cannot read ${path}: ${describe(code)}`, { cause: err });
      return skip(`${path}: ${describe(code)}`);
    }
    if (stat.isDirectory()) {
      const real = realpathSync(path);
      if (seenDirs.has(real)) return skip(`${path}: a folder already read (through a link)`);
      seenDirs.add(real);
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (err) {
        throw new ManifestError(`cannot read the folder ${path}: ${describe((err as NodeJS.ErrnoException).code)}`, { cause: err });
      }
      for (const entry of entries) {
        const full = join(path, entry);
        let isDir = false;
        try {
          isDir = statSync(full).isDirectory();
        } catch {
          // a dangling link or a loop: reported by visit below
        }
        if (isDir || ['.yaml', '.yml', '.json'].includes(extname(entry))) visit(full, false);
      }
      return;
    }
    if (!stat.isFile()) return skip(`${path}: not a regular file (${kindOf(stat)})`);
    files.push({ path, size: stat.size });
  };
  for (const path of paths) visit(path, true);

  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > maxBytes) throw new ManifestError(`the manifests hold ${total} bytes, more than KNP_MAX_MANIFEST_BYTES (${maxBytes}): give fewer files or raise the limit`);
  let budget = maxBytes;
  return files.flatMap((f) => {
    const text = readRegular(f.path, budget);
    budget -= Buffer.byteLength(text);
    return parseText(f.path, text);
  });
}

const describe = (code: string | undefined): string =>
  code === 'ENOENT' ? 'no such file (or a dangling link)' : code === 'ELOOP' ? 'a loop of symbolic links' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');

function kindOf(stat: Stats): string {
  return stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'special';
}

/** Reads a file that was a regular file, opened without blocking and checked again once open (it may have been swapped). */
function readRegular(path: string, budget: number): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new ManifestError(`cannot read ${path}: ${describe((err as NodeJS.ErrnoException).code)}`, { cause: err });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ManifestError(`${path}: not a regular file any more`);
    if (stat.size > budget) throw new ManifestError(`${path}: more than KNP_MAX_MANIFEST_BYTES in all`);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < stat.size) {
      const n = readSync(fd, buffer, read, stat.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function parseText(file: string, text: string): unknown[] {
  if (text.includes('\u0000')) throw new ManifestError(`${file}: a binary file, not YAML or JSON`);
  if (extname(file) === '.json') {
    try {
      const value: unknown = JSON.parse(text);
      return value === null ? [] : [value];
    } catch (err) {
      throw new ManifestError(`${file}: not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  return list.flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new ManifestError(`${file}: document ${i + 1}: ${firstLine(doc.errors[0]!.message)}`);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      // yaml throws for an alias expanded past maxAliasCount (an alias bomb) and for cyclic aliases
      throw new ManifestError(`${file}: document ${i + 1}: ${firstLine((err as Error).message)}`, { cause: err });
    }
    return value === null || value === undefined ? [] : [value];
  });
}

const firstLine = (text: string): string => text.split('\n')[0] ?? '';
