/** Schema versions carried by every message and by the rule set IR. A reader refuses what it does not know. */
export const EVENT_SCHEMA = 1;
export const RULESET_SCHEMA = 1;

export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** Throws a SchemaError unless `value.schema` is exactly `expected`; `what` names the message in the error. */
export function checkSchema(what: string, value: unknown, expected: number): void {
  const schema = typeof value === 'object' && value !== null ? (value as { schema?: unknown }).schema : undefined;
  if (schema !== expected)
    throw new SchemaError(`${what}: schema version ${JSON.stringify(schema)} is not supported (this reader knows ${expected})`);
}

/** Exhaustiveness check for switches over tagged unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

/**
 * Bad input (a flag, a manifest, a pod name, the configuration, a key file) as opposed to a failure of knp:
 * commands answer it with one clear line and exit 2, services refuse to start with exit 2.
 */
export class InputError extends Error {
  override name = 'InputError';
}
