declare const BARE: unique symbol;

/**
 * A table keyed by strings from the API or a manifest (uids, names, label keys, IPs). It is always made by
 * `table()`, an object without prototype, so `__proto__`, `constructor` or `toString` are ordinary keys
 * that read only what was stored under them. The brand keeps `{}` literals (which have a prototype) out.
 * Immer (v11, not strict) copies such objects without prototype too; the state-shape test holds it to that.
 */
export type Table<V> = { readonly [key: string]: V } & { readonly [BARE]: true };

/** An empty table (no prototype). The literal form costs a fifth of `Object.create(null)` in V8. */
export function table<V>(): Table<V> {
  return { __proto__: null } as unknown as Table<V>;
}

/** A table holding the entries of `source` (own enumerable keys only). */
export function tableFrom<V>(source: Readonly<Record<string, V>> | Iterable<readonly [string, V]>): Table<V> {
  const out = table<V>() as Record<string, V>;
  if (Symbol.iterator in source) for (const [k, v] of source as Iterable<readonly [string, V]>) out[k] = v;
  else for (const k of Object.keys(source)) out[k] = (source as Readonly<Record<string, V>>)[k]!;
  return out as Table<V>;
}

/** Whether `key` is stored in the table (never true for a key only a prototype would have). */
export function has<V>(t: Table<V>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(t, key);
}
