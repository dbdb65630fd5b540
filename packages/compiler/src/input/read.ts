import type { Rejection } from '@knp/shared';

/** Who an object is, from an envelope or a manifest, already validated (namespace absent for a Namespace). */
export type ObjectId = { readonly uid: string; readonly namespace: string | undefined; readonly name: string };

/**
 * An object read from input: its record, with the fields that were invalid rejected (and read as the value
 * that never allows more); or, when it cannot be kept at all, no record and why.
 */
export type Read<R> = { readonly record: R; readonly rejections: readonly Rejection[] } | { readonly record?: undefined; readonly rejections: readonly Rejection[] };

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
