import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { shortHash, type RuleSet } from '@knp/shared';
import { admitRuleSet } from '@knp/shared';

/**
 * What survives a restart: the last rule set applied and, once read back, the kernel listing digest taken
 * right after its load (so a restart that finds the kernel unchanged writes nothing).
 */
export type StoredState = { readonly ruleSet: RuleSet; readonly fingerprint?: string };

const STATE_SCHEMA = 1;

/** One file per prefix and node, so appliers of several nodes or prefixes can share a directory (tests, demo). */
export function stateFilePath(stateDir: string, prefix: string, node: string): string {
  return join(stateDir, `applier-${prefix}-${shortHash(node, 16)}.json`);
}

export type ReadState = { readonly kind: 'none' } | { readonly kind: 'found'; readonly state: StoredState } | { readonly kind: 'invalid'; readonly reason: string };

/** Reads the state file; a missing file is `none`, anything unusable is `invalid` (the caller logs it and starts empty). */
export function readState(path: string, node: string): ReadState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'invalid', reason: (err as Error).message };
  }
  let value: { schema?: unknown; ruleSet?: unknown; fingerprint?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch (err) {
    return { kind: 'invalid', reason: `not JSON: ${(err as Error).message}` };
  }
  if (value?.schema !== STATE_SCHEMA) return { kind: 'invalid', reason: `state schema ${JSON.stringify(value?.schema)} is not ${STATE_SCHEMA}` };
  const admission = admitRuleSet(JSON.stringify(value.ruleSet), node);
  if (admission.kind === 'refuse') return { kind: 'invalid', reason: admission.reason };
  return { kind: 'found', state: { ruleSet: admission.ruleSet, ...(typeof value.fingerprint === 'string' ? { fingerprint: value.fingerprint } : {}) } };
}

/** The kernel listing digest read back right after a rule set was loaded. */
export type ReadBack = { readonly hash: string; readonly fingerprint: string };

/** What to keep for `ruleSet`: the read-back fingerprint only when it was taken of that same content. */
export function stateToStore(ruleSet: RuleSet, readBack: ReadBack | undefined): StoredState {
  return readBack?.hash === ruleSet.contentHash ? { ruleSet, fingerprint: readBack.fingerprint } : { ruleSet };
}

/** Writes the state atomically: a temp file in the same directory, fsync, rename over the old one, fsync the directory. */
export function writeState(path: string, state: StoredState): void {
  const dir = dirname(path);
  ensurePrivateDir(dir);
  // an unpredictable name, created only if absent and never through a link: a planted file or symlink in
  // the directory cannot make us write elsewhere
  const tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, JSON.stringify({ schema: STATE_SCHEMA, ...state }));
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** The state directory: created 0700 when missing; an existing one must be a real directory (not a link), and is narrowed to 0700. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new Error(`state directory ${dir} is not a directory (a link?)`);
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
