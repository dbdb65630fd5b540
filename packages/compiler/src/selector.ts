import type { Rejection } from '@knp/shared';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export type Requirement = { readonly key: string; readonly operator: Operator; readonly values: readonly string[] };
/** A parsed label selector: requirements sorted, with a canonical key for sharing and memoisation. */
export type Selector = { readonly requirements: readonly Requirement[]; readonly key: string };
export type Labels = Readonly<Record<string, string>>;

const OPERATORS: readonly Operator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export const MATCH_ALL: Selector = { requirements: [], key: '{}' };

/**
 * Parses a metav1.LabelSelector. `undefined` or `{}` selects everything (the caller decides whether an
 * absent selector is allowed). Problems are pushed to `problems` with the field path; the result is then
 * undefined.
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
        if (typeof v !== 'string') problems.push({ object, field: `${field}.matchLabels[${JSON.stringify(key)}]`, reason: 'value is not a string' });
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
  if (typeof key !== 'string' || key === '') {
    problems.push({ object, field: `${at}.key`, reason: 'must be a non-empty string' });
    return undefined;
  }
  if (!OPERATORS.includes(operator as Operator)) {
    problems.push({ object, field: `${at}.operator`, reason: `${JSON.stringify(operator)} is not one of In, NotIn, Exists, DoesNotExist` });
    return undefined;
  }
  const list = values === undefined || values === null ? [] : values;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) {
    problems.push({ object, field: `${at}.values`, reason: 'must be a list of strings' });
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
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (operator) {
      case 'In': if (!has || !values.includes(labels[key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
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
