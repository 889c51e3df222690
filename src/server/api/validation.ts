// Request validation from the contract's schemas: one Ajv for every route, every bad field named
// in the same 422 shape. Bodies are never coerced (a "5" is not a 5); query values are strings.
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/** Marks a body schema whose route checks the body itself (its parser names the fields the same way). */
export const CHECKED_BY_HANDLER = 'x-checked-by-handler';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, validateFormats: false, coerceTypes: false, useDefaults: false, removeAdditional: false });

export const compileValidator: FastifySchemaCompiler<Record<string, unknown>> = ({ schema }) => {
  if ((schema as Record<string, unknown>)[CHECKED_BY_HANDLER] === true) return () => true;
  const validate = ajv.compile(schema);
  return (data: unknown) => (validate(data) ? { value: data } : { error: Object.assign(new Error('invalid'), { validation: validate.errors ?? [] }) });
};

export interface FieldProblem {
  field: string;
  message: string;
}

function fieldOf(error: ErrorObject, part: string): string {
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra = error.keyword === 'additionalProperties' ? (error.params as { additionalProperty: string }).additionalProperty : error.keyword === 'required' ? (error.params as { missingProperty: string }).missingProperty : '';
  const field = [path, extra].filter(Boolean).join('.');
  return field || part;
}

function plainMessage(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') return 'unknown field';
  if (error.keyword === 'required') return 'required';
  const given = error.parentSchema as { errorMessage?: unknown } | undefined;
  return typeof given?.errorMessage === 'string' ? given.errorMessage : (error.message ?? 'invalid');
}

/**
 * Every bad field once, in the words of its schema (`errorMessage`) where it has them; a union of
 * literals says which values it takes.
 */
export function fieldProblems(errors: readonly ErrorObject[], part: string): FieldProblem[] {
  const byField = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    const field = fieldOf(error, part);
    byField.set(field, [...(byField.get(field) ?? []), error]);
  }
  return [...byField.entries()].map(([field, list]) => {
    const worded = list.find((e) => e.keyword === 'additionalProperties' || e.keyword === 'required' || typeof (e.parentSchema as { errorMessage?: unknown } | undefined)?.errorMessage === 'string');
    if (worded) return { field, message: plainMessage(worded) };
    const allowed = list.filter((e) => e.keyword === 'const').map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    if (allowed.length > 0) return { field, message: `one of ${allowed.join(', ')}` };
    return { field, message: plainMessage(list[0]!) };
  });
}
