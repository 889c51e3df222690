// pathsAllow: GitHub's reading of `paths` / `paths-ignore` (order, `!`, `**`), what it says when a
// run does not run, and the limits that keep a hostile pull request from stalling the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline, pathsAllow, type Pipeline } from './index.js';
import { MAX_FILTERED_FILES, MAX_FILTERED_PATH_LENGTH, PATH_FILTER_BUDGET_MS } from './path-filters.js';

function pipelineWith(on: string): Pipeline {
  const { pipeline, diagnostics } = parsePipeline(`version: 1\nname: app\non:\n${on}jobs:\n  t:\n    image: x\n    steps: [{ run: x }]\n`, 'slipway.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  assert.ok(pipeline);
  return pipeline;
}

test('no filter, or no trigger of that kind: it runs whatever changed', () => {
  const plain = pipelineWith('  push:\n');
  assert.deepEqual(pathsAllow(plain, 'push', ['a']), { run: true });
  assert.deepEqual(pathsAllow(plain, 'pull_request', []), { run: true });
});

test('paths: runs when one changed file matches; the why names the filter and the count', () => {
  const p = pipelineWith('  push: { paths: ["src/**", "package.json"] }\n  pull_request: { paths: ["src/**"] }\n');
  assert.deepEqual(pathsAllow(p, 'push', ['README.md', 'src/deep/a.ts']), { run: true });
  assert.deepEqual(pathsAllow(p, 'push', ['package.json']), { run: true });
  assert.deepEqual(pathsAllow(p, 'push', ['README.md', 'docs/a.md', 'lib/x.js']), { run: false, why: 'on.push.paths: none of the 3 changed files match' });
  assert.deepEqual(pathsAllow(p, 'pull_request', ['README.md']), { run: false, why: 'on.pull_request.paths: the one changed file (README.md) does not match' });
  assert.deepEqual(pathsAllow(p, 'push', []), { run: false, why: 'on.push.paths: no file changed' });
});

test('paths-ignore: does not run only when every changed file matches; an empty change still runs', () => {
  const p = pipelineWith('  push: { paths-ignore: ["docs/**", "**.md"] }\n');
  assert.deepEqual(pathsAllow(p, 'push', ['docs/a.txt', 'sub/dir/notes.md']), { run: false, why: 'on.push.paths-ignore: all 2 changed files match' });
  assert.deepEqual(pathsAllow(p, 'push', ['README.md']), { run: false, why: 'on.push.paths-ignore: the one changed file (README.md) matches' });
  assert.deepEqual(pathsAllow(p, 'push', ['docs/a.txt', 'src/a.ts']), { run: true });
  assert.deepEqual(pathsAllow(p, 'push', []), { run: true }, 'an empty commit pushed to re-run CI runs');
});

test('patterns apply in order: a ! pattern takes back what the ones before it matched, a later one gives it again', () => {
  const p = pipelineWith('  push: { paths: ["src/**", "!src/docs/**", "src/docs/api.md"] }\n');
  assert.equal(pathsAllow(p, 'push', ['src/docs/guide.md']).run, false);
  assert.equal(pathsAllow(p, 'push', ['src/docs/api.md']).run, true);
  assert.equal(pathsAllow(p, 'push', ['src/index.ts']).run, true);
  const ignore = pipelineWith('  push: { paths-ignore: ["docs/**", "!docs/openapi.yaml"] }\n');
  assert.equal(pathsAllow(ignore, 'push', ['docs/a.md']).run, false);
  assert.equal(pathsAllow(ignore, 'push', ['docs/openapi.yaml']).run, true, 'a file the ignore list takes back counts');
});

test('globs: * stays in one folder, ** crosses folders (also beside characters: **.md, src/**.ts, docs**), dot files match', () => {
  const p = pipelineWith('  push: { paths: ["*.json", "**.md", "src/**.ts", "docs**", ".github/**"] }\n');
  const runs = (file: string): boolean => pathsAllow(p, 'push', [file]).run;
  assert.equal(runs('package.json'), true);
  assert.equal(runs('sub/package.json'), false);
  assert.equal(runs('a/b/c/notes.md'), true);
  assert.equal(runs('src/x/y/z.ts'), true);
  assert.equal(runs('lib/z.ts'), false);
  assert.equal(runs('docsite/a/b.html'), true);
  assert.equal(runs('docs'), true);
  assert.equal(runs('.github/workflows/ci.yml'), true);
});

test('what cannot be ruled out runs: too many files, a path too long for any file system', () => {
  const p = pipelineWith('  push: { paths: ["src/**"] }\n');
  const many = Array.from({ length: MAX_FILTERED_FILES + 1 }, (_, i) => `docs/${i}.md`);
  assert.deepEqual(pathsAllow(p, 'push', many), { run: true });
  assert.deepEqual(pathsAllow(p, 'push', [`docs/${'a'.repeat(MAX_FILTERED_PATH_LENGTH)}`]), { run: true });
  assert.deepEqual(pathsAllow(p, 'push', [`docs/${'a'.repeat(300)}/x`]), { run: true }, 'a segment above 255 characters');
  const ignore = pipelineWith('  push: { paths-ignore: ["**"] }\n');
  assert.deepEqual(pathsAllow(ignore, 'push', [`${'a'.repeat(MAX_FILTERED_PATH_LENGTH + 1)}`]), { run: true });
});

test('hostile: patterns and file names made to backtrack decide within the budget (and then run)', () => {
  // each of these patterns backtracks like n³ against a 255-character name of 'a's that never ends in 'b'
  const patterns = Array.from({ length: 100 }, (_, i) => `"*a*a*b${i}"`).join(', ');
  const p = pipelineWith(`  pull_request: { paths: [${patterns}] }\n`);
  const files = Array.from({ length: 5000 }, (_, i) => `${'a'.repeat(250)}${String(i).padStart(5, '0')}`);
  const started = performance.now();
  const answer = pathsAllow(p, 'pull_request', files);
  const elapsed = performance.now() - started;
  assert.deepEqual(answer, { run: true }, 'past the budget it runs');
  // one match may overrun the budget by its own cost (tens of ms at most for a 255-character segment)
  assert.ok(elapsed < PATH_FILTER_BUDGET_MS + 500, `decided in ${elapsed.toFixed(0)} ms`);
});
