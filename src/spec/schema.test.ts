import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { repoRoot } from '../../test/support/paths.js';
import { pipelineJsonSchema, specCodes } from './index.js';
import { PipelineSchema } from './schema.js';
import { annotatedPipelineSchema } from './schema.generated.js';

test('the validator’s schema snapshot is the TypeBox schema (run npm run build when this fails)', () => {
  assert.deepEqual(annotatedPipelineSchema, JSON.parse(JSON.stringify(PipelineSchema)));
});

test('the published schema file is what pipelineJsonSchema() returns', () => {
  const published = JSON.parse(readFileSync(path.join(repoRoot, 'schema', 'slipway.schema.json'), 'utf8')) as unknown;
  assert.deepEqual(published, pipelineJsonSchema());
});

test('the JSON Schema is well-formed for editors: draft-07, $id, titles, descriptions, the job keys', () => {
  const schema = pipelineJsonSchema() as Record<string, any>;
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.match(String(schema.$id), /^https:\/\/.+\.json$/);
  assert.equal(schema.title, 'Slipway pipeline');
  assert.deepEqual(schema.required, ['version', 'name', 'jobs']);
  assert.deepEqual(Object.keys(schema.properties), ['version', 'name', 'on', 'env', 'secrets', 'environments', 'jobs']);
  const job = Object.values(schema.properties.jobs.patternProperties as Record<string, any>)[0];
  assert.deepEqual(Object.keys(job.properties), ['needs', 'if', 'when', 'approval', 'env', 'timeout', 'retry', 'image', 'services', 'steps', 'cache', 'artifacts', 'runs-on', 'resources', 'matrix', 'fail-fast', 'build', 'deploy']);
  assert.equal(job.additionalProperties, false);
  assert.equal(job.properties.timeout.default, '60m');
  assert.deepEqual(job.properties.build.required, ['repository']);
  assert.deepEqual(job.properties.deploy.required, ['environment', 'image', 'port']);
  // Every property carries a description (what editors show on hover), and no x- annotation leaks.
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      assert.ok(!key.startsWith('x-'), `${where}.${key} leaked`);
      if (key === 'properties') {
        for (const [name, prop] of Object.entries(value as Record<string, Record<string, unknown>>)) {
          assert.equal(typeof prop.description, 'string', `${where}.${name} has no description`);
        }
      }
      walk(value, `${where}.${key}`);
    }
  };
  walk(schema, '$');
});

test('the schema accepts a file with every key and rejects unknown keys (checked by TypeBox itself)', () => {
  const good = parseDocument(readFileSync(path.join(repoRoot, 'test', 'spec-corpus', 'valid', 'every-key.yaml'), 'utf8')).toJS() as unknown;
  assert.equal(Value.Check(PipelineSchema, good), true, JSON.stringify([...Value.Errors(PipelineSchema, good)].slice(0, 3)));
  const bad = { version: 1, name: 'x', jobs: { a: { image: 'x', stpes: [] } } };
  assert.equal(Value.Check(PipelineSchema, bad), false);
});

test('every diagnostic code used in src/spec is in the docs table, and the table has no stale code', () => {
  const docs = readFileSync(path.join(repoRoot, 'docs', 'pipeline-file.md'), 'utf8');
  const documented = new Set([...docs.matchAll(/^\| `(SPEC_[A-Z_]+)` \|/gm)].map((m) => m[1] ?? ''));
  const specDir = path.join(repoRoot, 'src', 'spec');
  const used = new Set<string>();
  for (const file of readdirSync(specDir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    for (const m of readFileSync(path.join(specDir, file), 'utf8').matchAll(/\bSPEC_[A-Z_]+\b/g)) used.add(m[0]);
  }
  for (const code of Object.keys(specCodes)) used.add(code);
  assert.deepEqual([...used].filter((c) => !documented.has(c)).sort(), [], 'codes missing from docs/pipeline-file.md');
  assert.deepEqual([...documented].filter((c) => !(c in specCodes)).sort(), [], 'documented codes that do not exist');
});
