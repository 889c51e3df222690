// The corpus of broken pipeline files: each test/spec-corpus/NAME.yaml has NAME.expected listing
// its exact diagnostics, one per line: `line:col severity CODE message`. Every code the spec front
// end emits appears in at least one file (checked below). SLIPWAY_BLESS=1 rewrites the .expected
// files from the current output — review the diff before committing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './support/paths.js';
import { loadPipeline, parsePipeline, specCodes, type Diagnostic } from '../src/spec/index.js';

const corpusDir = path.join(repoRoot, 'test', 'spec-corpus');
const files = readdirSync(corpusDir).filter((f) => f.endsWith('.yaml')).sort();
const bless = process.env.SLIPWAY_BLESS === '1';

function render(list: Diagnostic[]): string {
  return list.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`).join('\n');
}

const seenCodes = new Set<string>();

test('the corpus holds at least 35 broken files', () => {
  assert.ok(files.length >= 35, `only ${files.length} files`);
});

for (const name of files) {
  test(`corpus ${name} gives exactly its expected diagnostics`, async () => {
    const file = path.join(corpusDir, name);
    const result = await loadPipeline(file, { displayName: name });
    const actual = render(result.diagnostics);
    const expectedFile = file.replace(/\.yaml$/, '.expected');
    if (bless) writeFileSync(expectedFile, `${actual}\n`);
    const expected = readFileSync(expectedFile, 'utf8').trimEnd();
    assert.equal(actual, expected);
    for (const d of result.diagnostics) seenCodes.add(d.code);
    const hasError = result.diagnostics.some((d) => d.severity === 'error');
    assert.equal(result.pipeline === undefined, hasError, 'a pipeline comes back exactly when there is no error');
  });
}

test('the valid files of the corpus load with no diagnostic', async () => {
  const validDir = path.join(corpusDir, 'valid');
  for (const name of readdirSync(validDir).filter((f) => f.endsWith('.yaml'))) {
    const result = await loadPipeline(path.join(validDir, name), { displayName: name });
    assert.deepEqual(result.diagnostics, [], name);
    assert.ok(result.pipeline, name);
  }
});

test('a file above 1 MiB is refused before parsing, quickly, even at 50 MB', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-spec-'));
  try {
    const big = path.join(dir, 'slipway.yaml');
    await writeFile(big, `version: 1\nname: app\n# ${'x'.repeat(50 * 1024 * 1024)}\n`);
    const started = performance.now();
    const result = await loadPipeline(big, { displayName: 'slipway.yaml' });
    const elapsedMs = performance.now() - started;
    assert.deepEqual(result.diagnostics.map((d) => d.code), ['SPEC_TOO_LARGE']);
    assert.ok(elapsedMs < 250, `took ${elapsedMs} ms`);
    seenCodes.add('SPEC_TOO_LARGE');
    const missing = await loadPipeline(path.join(dir, 'nope.yaml'));
    assert.deepEqual(missing.diagnostics.map((d) => [d.code, d.line]), [['SPEC_FILE', 0]]);
    seenCodes.add('SPEC_FILE');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file with more than 1000 problems lists the first 1000 and is refused with SPEC_TOO_MANY', () => {
  const keys = Array.from({ length: 1200 }, (_, i) => `    unknown${i}: 1\n`).join('');
  const result = parsePipeline(`version: 1\nname: app\njobs:\n  test:\n    image: a\n    steps: [{ run: x }]\n${keys}`, 'many.yaml');
  assert.equal(result.pipeline, undefined);
  assert.equal(result.diagnostics.length, 1001);
  const last = result.diagnostics[1000];
  assert.equal(last?.code, 'SPEC_TOO_MANY');
  assert.equal(last?.line, 1007, 'placed where the first unlisted problem is');
  seenCodes.add('SPEC_TOO_MANY');
});

test('a pipeline of more than 1000 jobs is refused, at the first job past the limit', () => {
  const jobs = Array.from({ length: 1001 }, (_, i) => `  j${i}: { build: { repository: app } }\n`).join('');
  const result = parsePipeline(`version: 1\nname: app\njobs:\n${jobs}`, 'jobs.yaml');
  assert.deepEqual(result.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`), ['1004:3 SPEC_TOO_LARGE']);
  assert.match(result.diagnostics[0]?.message ?? '', /1001 jobs; a pipeline may have at most 1000/);
});

test('an exception inside the front end becomes SPEC_INTERNAL at 1:1, not a throw', () => {
  // A caller passing something that is not text is the simplest way to make the front end fail.
  const result = parsePipeline(42 as unknown as string, 'odd.yaml');
  assert.equal(result.pipeline, undefined);
  assert.deepEqual(result.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`), ['1:1 SPEC_INTERNAL']);
  assert.match(result.diagnostics[0]?.message ?? '', /this is a bug: please report it/);
  assert.doesNotMatch(result.diagnostics[0]?.message ?? '', /\n\s+at /);
  seenCodes.add('SPEC_INTERNAL');
});

// Runs last (node:test keeps file order within a file): every registered code has a broken file.
test('every diagnostic code is exercised by the corpus', () => {
  const missing = Object.keys(specCodes).filter((code) => !seenCodes.has(code));
  assert.deepEqual(missing, []);
});
