import { isLabelKey, isLabelValue, preview, type Rejection } from '@knp/shared';
import { has, type Table } from './table.js';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export type Requirement = { readonly key: string; readonly operator: Operator; readonly values: readonly string[] };
/** A parsed label selector: requirements sorted, with a canonical key for sharing and memoisation. */
export type Selector = { readonly requirements: readonly Requirement[]; readonly key: string };
/** An object's labels: valid keys and values only (see input/labels.ts), in a table without prototype. */
export type Labels = Table<string>;

const OPERATORS: readonly Operator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export const MATCH_ALL: Selector = { requirements: [], key: '{}' };

/**
 * Parses a metav1.LabelSelector. `undefined` or `{}` selects everything (the caller decides whether an
 * absent selector is allowed). Problems are pushed to `problems` with the field path; the result is then
 * undefined. spec: keys are label keys and values label values, as for labels themselves; so a selector
 * can only ever name labels an object may carry.
 */
export function parseSelector(value: unknown, field: string, object: string, problems: Rejection[]): Selector | undefined {
  if (value === undefined || value === null) return MATCH_ALL;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ object, field, reason: 'is not a label selector object' });
    return undefined;
  }
  const { matchLabels, matchExpressions } = value as { matchLabels?: unknown; matchExpressions?: unknown };
  const requirements: Requirement[] = [];
  const before = problems.length;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (typeof matchLabels !== 'object' || Array.isArray(matchLabels)) {
      problems.push({ object, field: `${field}.matchLabels`, reason: 'is not a map of strings' });
    } else {
      for (const [key, v] of Object.entries(matchLabels)) {
        if (!isLabelKey(key)) problems.push({ object, field: `${field}.matchLabels`, reason: `key ${preview(key)} is not a label key` });
        else if (typeof v !== 'string') problems.push({ object, field: `${field}.matchLabels[${JSON.stringify(key)}]`, reason: 'value is not a string' });
        else if (!isLabelValue(v)) problems.push({ object, field: `${field}.matchLabels[${JSON.stringify(key)}]`, reason: `${preview(v)} is not a label value` });
        else requirements.push({ key, operator: 'In', values: [v] });
      }
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) {
      problems.push({ object, field: `${field}.matchExpressions`, reason: 'is not a list' });
    } else {
      matchExpressions.forEach((expr: unknown, i: number) => {
        const at = `${field}.matchExpressions[${i}]`;
        const requirement = parseRequirement(expr, at, object, problems);
        if (requirement) requirements.push(requirement);
      });
    }
  }
  if (problems.length > before) return undefined;
  requirements.sort((a, b) => compare(a.key, b.key) || compare(a.operator, b.operator) || compare(a.values.join('\0'), b.values.join('\0')));
  return { requirements, key: JSON.stringify(requirements.map((r) => [r.key, r.operator, r.values])) };
}

function parseRequirement(expr: unknown, at: string, object: string, problems: Rejection[]): Requirement | undefined {
  if (typeof expr !== 'object' || expr === null) {
    problems.push({ object, field: at, reason: 'is not an expression object' });
    return undefined;
  }
  const { key, operator, values } = expr as { key?: unknown; operator?: unknown; values?: unknown };
  if (!isLabelKey(key)) {
    problems.push({ object, field: `${at}.key`, reason: `${preview(key)} is not a label key` });
    return undefined;
  }
  if (!OPERATORS.includes(operator as Operator)) {
    problems.push({ object, field: `${at}.operator`, reason: `${preview(operator)} is not one of In, NotIn, Exists, DoesNotExist` });
    return undefined;
  }
  const list = values === undefined || values === null ? [] : values;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) {
    problems.push({ object, field: `${at}.values`, reason: 'must be a list of strings' });
    return undefined;
  }
  const bad = list.findIndex((v) => !isLabelValue(v));
  if (bad >= 0) {
    problems.push({ object, field: `${at}.values[${bad}]`, reason: `${preview(list[bad])} is not a label value` });
    return undefined;
  }
  const op = operator as Operator;
  if ((op === 'In' || op === 'NotIn') && list.length === 0) {
    problems.push({ object, field: `${at}.values`, reason: `must be non-empty for operator ${op}` });
    return undefined;
  }
  if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) {
    problems.push({ object, field: `${at}.values`, reason: `must be empty for operator ${op}` });
    return undefined;
  }
  return { key, operator: op, values: [...new Set(list as string[])].sort() };
}

/** spec: matchLabels and every matchExpression must all hold; NotIn also holds when the key is absent. */
export function matches(selector: Selector, labels: Labels): boolean {
  for (const { key, operator, values } of selector.requirements) {
    const present = has(labels, key);
    switch (operator) {
      case 'In': if (!present || !values.includes(labels[key]!)) return false; break;
      case 'NotIn': if (present && values.includes(labels[key]!)) return false; break;
      case 'Exists': if (!present) return false; break;
      case 'DoesNotExist': if (present) return false; break;
    }
  }
  return true;
}

/** Human-readable form for the IR and explain (`pod=a, tier in (x,y), !debug`). Never rendered into rules. */
export function describeSelector(selector: Selector): string {
  if (selector.requirements.length === 0) return 'all';
  return selector.requirements
    .map(({ key, operator, values }) => {
      switch (operator) {
        case 'In': return values.length === 1 ? `${key}=${values[0]}` : `${key} in (${values.join(',')})`;
        case 'NotIn': return `${key} notin (${values.join(',')})`;
        case 'Exists': return key;
        case 'DoesNotExist': return `!${key}`;
      }
    })
    .join(', ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
