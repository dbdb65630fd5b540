/**
 * The change from one ordered list of keyed items to another, exact to the order: `del` names the keys of
 * `a` that are gone, `put` the items of `b` (with their index in `b`) that are new, changed or moved. Items of
 * `a` neither deleted nor put keep their relative order, so applying it to `a` yields `b` item for item.
 */
export type ListDelta<T> = { readonly del: readonly string[]; readonly put: readonly (readonly [index: number, item: T])[] };

/**
 * Item equality for the diff: the same object, else the same JSON. Plain JSON, not canonical (sorting keys
 * cost more than the rest of a publish): items come from the compiler or from parsing what it wrote, so
 * their keys are in one order; an equal item with keys in another order is only put again (a few bytes
 * more), never taken as equal when it is not.
 */
export function sameItem(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** The delta from `a` to `b`; keys are unique within each list. */
export function diffList<T>(a: readonly T[], b: readonly T[], key: (item: T) => string, same: (x: T, y: T) => boolean = sameItem): ListDelta<T> {
  const inA = new Map<string, { readonly index: number; readonly item: T }>();
  a.forEach((item, index) => inA.set(key(item), { index, item }));
  const inB = new Set(b.map(key));
  const del = [...inA.keys()].filter((k) => !inB.has(k));
  const put: Array<readonly [number, T]> = [];
  let lastKept = -1;
  b.forEach((item, index) => {
    const old = inA.get(key(item));
    // kept only when unchanged and still after the previous kept item (greedy: a moved item is put again)
    if (old !== undefined && old.index > lastKept && same(old.item, item)) lastKept = old.index;
    else put.push([index, item]);
  });
  return { del, put };
}

/** `a` with `delta` applied; undefined when the delta does not fit `a` (an index past the end). */
export function applyList<T>(a: readonly T[], delta: ListDelta<T>, key: (item: T) => string): T[] | undefined {
  const gone = new Set(delta.del);
  for (const [, item] of delta.put) gone.add(key(item));
  const out = a.filter((item) => !gone.has(key(item)));
  const puts = [...delta.put].sort((x, y) => x[0] - y[0]);
  for (const [index, item] of puts) {
    if (!Number.isSafeInteger(index) || index < 0 || index > out.length) return undefined;
    out.splice(index, 0, item);
  }
  return out;
}

export const isEmptyDelta = (d: ListDelta<unknown>): boolean => d.del.length === 0 && d.put.length === 0;
