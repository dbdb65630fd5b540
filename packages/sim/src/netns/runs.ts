import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shQuiet } from './sh.js';

/**
 * The registry of netns cluster runs: one record `<run id>.json` per run holding the owning process and its
 * namespaces (`knpt<run id>-n<i>` per node, `-p<i>` per pod), so a run whose process died is swept by the
 * next one, and a test can tell its own namespaces from those of runs in other processes.
 */
export const RUNS_DIR = '/tmp/knp-netns-runs';

type RunRecord = { readonly pid: number; readonly namespaces: readonly string[] };

/**
 * Picks a run id and claims it with an exclusive create of its record (`wx`), so two processes starting
 * clusters at once never get the same namespace names; a taken id is drawn again. Returns the node
 * namespaces first, then the pods'.
 */
export function reserveRun(nodes: number, pods: number): { runId: string; namespaces: string[] } {
  mkdirSync(RUNS_DIR, { recursive: true });
  for (;;) {
    const runId = randomBytes(3).toString('hex').slice(0, 5);
    const namespaces = [...Array.from({ length: nodes }, (_, i) => `knpt${runId}-n${i}`), ...Array.from({ length: pods }, (_, i) => `knpt${runId}-p${i}`)];
    try {
      writeFileSync(join(RUNS_DIR, `${runId}.json`), JSON.stringify({ pid: process.pid, namespaces } satisfies RunRecord), { flag: 'wx' });
      return { runId, namespaces };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Removes namespaces left by runs whose process is gone (a crash or SIGKILL skips every handler). */
export function sweepDeadRuns(): void {
  for (const [file, record] of readRuns()) {
    if (isAlive(record.pid)) continue;
    for (const ns of record.namespaces) shQuiet(['ip', 'netns', 'del', ns]);
    rmSync(join(RUNS_DIR, file), { force: true });
    rmSync(join(RUNS_DIR, file.replace(/\.json$/, '')), { recursive: true, force: true });
  }
}

/**
 * Cluster namespaces (`knpt...`) no live run owns: left behind by a run whose process is gone, or never
 * recorded. A test checking that something cleaned up after itself compares these, not every `knpt`
 * name: runs in other processes come and go meanwhile. Listed twice around reading the records, because a
 * run deletes its namespaces before its record: a name in both listings without a live owner is stray.
 */
export function strayNamespaces(): string[] {
  const first = clusterNamespaces();
  const owned = new Set(readRuns().flatMap(([, record]) => (isAlive(record.pid) ? record.namespaces : [])));
  const still = new Set(clusterNamespaces());
  return first.filter((n) => !owned.has(n) && still.has(n));
}

/** The namespaces of live runs of process `pid`. */
export function namespacesOfProcess(pid: number): string[] {
  return readRuns().flatMap(([, record]) => (record.pid === pid && isAlive(pid) ? [...record.namespaces] : []));
}

/** The names of every cluster namespace on the machine (`ip netns list` prints `name (id: N)`). */
function clusterNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('knpt'));
}

/** Every readable run record; a half-written one is left for a later read. */
function readRuns(): [file: string, record: RunRecord][] {
  let files: string[] = [];
  try {
    files = readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((file): [string, RunRecord][] => {
    try {
      const record = JSON.parse(readFileSync(join(RUNS_DIR, file), 'utf8')) as RunRecord;
      return typeof record.pid === 'number' && Array.isArray(record.namespaces) ? [[file, record]] : [];
    } catch {
      return [];
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
