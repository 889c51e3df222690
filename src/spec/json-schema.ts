// The published JSON Schema of slipway.yaml: the schema snapshot without our x- annotations,
// which steer the validator but mean nothing (and trouble strict tools) elsewhere.
import { SCHEMA_ID } from './defaults.js';
import { annotatedPipelineSchema } from './schema.generated.js';

export function stripAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripAnnotations);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) if (!key.startsWith('x-')) out[key] = stripAnnotations(inner);
  return out;
}

/** The JSON Schema (draft-07, which editors support best) for slipway.yaml. */
export function pipelineJsonSchema(): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id: SCHEMA_ID, ...(stripAnnotations(annotatedPipelineSchema) as Record<string, unknown>) };
}
