import type { ClusterState } from './state.js';
import { table } from './table.js';

/*
 * Copy-on-write for the fold, made for the state's shape (tables of tables, records replaced whole). It does
 * what immer did here at a fraction of the cost at 100k pods: immer's finalize walked every record added in
 * a batch (labels, ports, parsed policies) to look for drafts and freeze it. Here a write copies the root and
 * each container on its path once per batch, and freezes the record it stores (deeply: records are plain
 * JSON values, small); a write that changes nothing copies nothing, so an event that changes nothing
 * returns the very same state, as immer did. The input state is never modified.
 */

type Container = Record<string, unknown>;
const DELETE = Symbol('delete');

export class StateWriter {
  private root: Container | undefined;
  /** Containers made by this writer: written in place until the batch ends. */
  private readonly owned = new Set<object>();

  constructor(private readonly base: ClusterState) {}

  /** The state as written so far (the base itself while nothing changed). */
  get state(): ClusterState {
    return (this.root ?? this.base) as ClusterState;
  }

  /** The value at a path of keys from the root (undefined where a container on the way is missing). */
  get(...path: string[]): unknown {
    let at: unknown = this.state;
    for (const key of path) {
      if (at === undefined) return undefined;
      at = (at as Container)[key];
    }
    return at;
  }

  /** Stores `value` (frozen) at the path, making missing tables on the way; no change when it is already there. */
  set(path: readonly string[], value: unknown): void {
    this.write(path, value);
  }

  /** Deletes the key at the end of the path; no change when it is absent. */
  delete(path: readonly string[]): void {
    this.write(path, DELETE);
  }

  /** Freezes the containers this writer made and returns the state. */
  finish(): ClusterState {
    for (const o of this.owned) Object.freeze(o);
    this.owned.clear();
    return this.state;
  }

  private write(path: readonly string[], value: unknown): void {
    const last = path[path.length - 1]!;
    const parent = this.get(...path.slice(0, -1)) as Container | undefined;
    if (value === DELETE ? parent === undefined || !Object.prototype.hasOwnProperty.call(parent, last) : parent !== undefined && parent[last] === value && Object.prototype.hasOwnProperty.call(parent, last))
      return;
    let at = this.ownRoot();
    for (const key of path.slice(0, -1)) {
      const child = at[key] as Container | undefined;
      const mine = child === undefined ? this.adopt(table() as unknown as Container) : this.own(child);
      if (mine !== child) at[key] = mine;
      at = mine;
    }
    if (value === DELETE) delete at[last];
    else at[last] = deepFreeze(value);
  }

  private ownRoot(): Container {
    if (!this.root) this.root = this.adopt({ ...(this.base as unknown as Container) });
    return this.root;
  }

  private own(o: Container): Container {
    if (this.owned.has(o)) return o;
    // tables have no prototype and must keep none; the few plain objects (trust) keep theirs
    return this.adopt(Object.getPrototypeOf(o) === null ? Object.assign(table() as unknown as Container, o) : { ...o });
  }

  private adopt(o: Container): Container {
    this.owned.add(o);
    return o;
  }
}

/** Freezes a value and everything in it (already frozen parts are skipped: they are frozen throughout). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Container)[key]);
  return value;
}
