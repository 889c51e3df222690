// The payloads of the hostile-input probe, verbatim, and the other shapes found with them: each
// crashed `slipway validate` (a stack trace, exit 1) and the server's parsePipeline, or took
// minutes. They must now be positioned diagnostics, quickly. The fuzz test (test/spec-fuzz) looks
// for more of the same kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from './model.js';
import { parsePipeline } from './index.js';

const HEAD = 'version: 1\nname: app\n';

function withIf(condition: string): string {
  return `${HEAD}jobs:\n  test:\n    image: node:20\n    if: "${condition}"\n    steps:\n      - run: echo hi\n`;
}

/** Parses without throwing (the assertion), and gives the diagnostics as `line:col CODE`. */
function problems(text: string): { list: string[]; diagnostics: Diagnostic[] } {
  const result = parsePipeline(text, 'slipway.yaml');
  for (const d of result.diagnostics) {
    assert.ok(d.line >= 1 && d.col >= 1, `${d.code} has no position`);
    assert.doesNotMatch(d.message, /Maximum call stack|\n\s+at /);
  }
  return { list: result.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`), diagnostics: result.diagnostics };
}

test("an if: of 5000 '!' is SPEC_EXPRESSION_LIMIT at the condition, not a stack overflow", () => {
  assert.deepEqual(problems(withIf(`${'!'.repeat(5000)}true`)).list, ['6:10 SPEC_EXPRESSION_LIMIT']);
});

test('an if: of 5000 nested parentheses is SPEC_EXPRESSION_LIMIT, not a stack overflow', () => {
  assert.deepEqual(problems(withIf(`${'('.repeat(5000)}true${')'.repeat(5000)}`)).list, ['6:10 SPEC_EXPRESSION_LIMIT']);
});

test("an if: of 33 nested '!' or parentheses within 4 KiB is refused at the 33rd level", () => {
  const { list, diagnostics } = problems(withIf(`${'('.repeat(33)}true${')'.repeat(33)}`));
  assert.deepEqual(list, [`6:${10 + 32} SPEC_EXPRESSION_LIMIT`]);
  assert.match(diagnostics[0]?.message ?? '', /nests more than 32 levels/);
  assert.deepEqual(problems(withIf(`${'!'.repeat(33)}true`)).list, [`6:${10 + 32} SPEC_EXPRESSION_LIMIT`]);
  assert.deepEqual(problems(withIf(`${'!'.repeat(32)}true`)).list, [], '32 levels are allowed');
});

test('an if: of a 20 000-term || chain is SPEC_EXPRESSION_LIMIT, not a stack overflow', () => {
  const chain = Array.from({ length: 20000 }, () => "branch == 'a'").join(' || ');
  assert.deepEqual(problems(withIf(chain)).list, ['6:10 SPEC_EXPRESSION_LIMIT']);
});

test('a ${{ }} of 5000 nested parentheses in a run script is SPEC_EXPRESSION_LIMIT', () => {
  const text = `${HEAD}jobs:\n  test:\n    image: node:20\n    steps:\n      - run: echo \${{ ${'('.repeat(5000)}branch${')'.repeat(5000)} }}\n`;
  assert.deepEqual(problems(text).list, ['7:22 SPEC_EXPRESSION_LIMIT']);
});

test('`<<: 5` is a positioned SPEC_TYPE, not "Merge sources must be maps"', () => {
  const { list, diagnostics } = problems(`${HEAD}<<: 5\njobs:\n  test:\n    image: node:20\n    steps:\n      - run: echo hi\n`);
  assert.deepEqual(list, ['3:5 SPEC_TYPE']);
  assert.match(diagnostics[0]?.message ?? '', /'<<' merges the keys of a mapping.*not the number 5/);
});

test('`<<: *a` where anchor a is a scalar is a positioned SPEC_TYPE', () => {
  const { list, diagnostics } = problems(`version: 1\nname: &a app\njobs:\n  test:\n    <<: *a\n    image: node:20\n    steps:\n      - run: echo hi\n`);
  assert.deepEqual(list, ['5:9 SPEC_TYPE']);
  assert.match(diagnostics[0]?.message ?? '', /not \*a, which names the string 'app'/);
});

test('an alias of a list of mappings merges each of them, and their keys are checked too', () => {
  const text = `${HEAD}x-both: &both [{ image: node:20 }, { timeout: 5 }]\njobs:\n  test:\n    <<: *both\n    steps: [{ run: echo hi }]\n`;
  assert.deepEqual(problems(text).list, ['3:47 SPEC_DURATION']);
  const fixed = parsePipeline(text.replace('timeout: 5', 'timeout: 5m'), 'slipway.yaml');
  assert.deepEqual(fixed.diagnostics, []);
  assert.equal(fixed.pipeline?.jobs[0]?.timeoutMs, 300_000);
});

test('YAML nested 1500 levels deep (past where the yaml package runs out of stack) is SPEC_TOO_DEEP, and so is an alias that expands past 64', () => {
  assert.deepEqual(problems(`${HEAD}x-a: ${'['.repeat(1500)}${']'.repeat(1500)}\njobs: {}\n`).list, ['3:69 SPEC_TOO_DEEP']);
  const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
  assert.deepEqual(problems(`${HEAD}x-a: &a ${deep}\nx-b: ${'['.repeat(30)}*a${']'.repeat(30)}\njobs: {}\n`).list, ['4:36 SPEC_TOO_DEEP']);
});

test('prototype names are not jobs, functions, keys or variables', () => {
  const text = `${HEAD}jobs:\n  test:\n    image: node:20\n    needs: [constructor]\n    constructor: 1\n    steps:\n      - run: echo \${{ toString(branch) }}\n`;
  assert.deepEqual(problems(text).list, ['6:13 SPEC_NEEDS_UNKNOWN', '7:5 SPEC_UNKNOWN_KEY', '9:23 SPEC_EXPRESSION']);
});

test('variables named like prototype members are kept as variables', () => {
  const result = parsePipeline(`${HEAD}jobs:\n  test:\n    image: a\n    env: { __proto__: x, constructor: y }\n    steps: [{ run: echo }]\n`, 'slipway.yaml');
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(Object.keys(result.pipeline?.jobs[0]?.env ?? {}), ['__proto__', 'constructor']);
});

test('an alias of an anchor that does not exist is a positioned error, not an alias bomb', () => {
  const { list, diagnostics } = problems(`${HEAD}x-a: [*nowhere]\njobs: { a: { build: { repository: app } } }\n`);
  assert.deepEqual(list, ['3:7 SPEC_YAML_SYNTAX']);
  assert.match(diagnostics[0]?.message ?? '', /\*nowhere names no anchor/);
});

test('a mapping of 30 000 keys, some duplicated, is checked in linear time', () => {
  const keys = Array.from({ length: 30000 }, (_, i) => `  k${i % 29999}: 1\n`).join('');
  const started = performance.now();
  const { list } = problems(`${HEAD}x-many:\n${keys}jobs: { a: { build: { repository: app } } }\n`);
  assert.deepEqual(list, ['30003:3 SPEC_DUPLICATE_KEY']);
  // The yaml package's own check compared every key with every other: 14 s on an idle machine.
  assert.ok(performance.now() - started < 8000, `took ${Math.round(performance.now() - started)} ms`);
});

test('a script with 50 000 bad expressions lists 1000 problems and SPEC_TOO_MANY, quickly', () => {
  const script = '          ${{ x }}\n'.repeat(50000);
  const started = performance.now();
  const { diagnostics } = problems(`${HEAD}jobs:\n  t:\n    image: a\n    steps:\n      - run: |\n${script}`);
  assert.equal(diagnostics.length, 1001);
  assert.equal(diagnostics[1000]?.code, 'SPEC_TOO_MANY');
  // Each position used to search the whole script again: minutes.
  assert.ok(performance.now() - started < 8000, `took ${Math.round(performance.now() - started)} ms`);
});

test('a branch pattern of 3000 nested +( is SPEC_GLOB at once, not minutes of picomatch', () => {
  const on = (pattern: string): string => `${HEAD}on: { push: { branches: ["${pattern}"] } }\njobs: { a: { build: { repository: app } } }\n`;
  const started = performance.now();
  const { list, diagnostics } = problems(on(`${'+('.repeat(3000)}a${')'.repeat(3000)}`));
  assert.deepEqual(list, ['3:26 SPEC_GLOB']);
  assert.match(diagnostics[0]?.message ?? '', /at most 256/);
  assert.ok(performance.now() - started < 5000, `took ${Math.round(performance.now() - started)} ms`);
  assert.match(problems(on(`${'+('.repeat(9)}a${')'.repeat(9)}`)).diagnostics[0]?.message ?? '', /nest more than 8 deep/);
  assert.deepEqual(problems(on(`${'+('.repeat(8)}a${')'.repeat(8)}`)).list, []);
});

test('a branch pattern of more than 3 wildcards is SPEC_GLOB: matching *a*a*a*a*b against a long branch name backtracked for ~50 s', () => {
  const on = (pattern: string): string => `${HEAD}on: { push: { branches: ["${pattern}"] } }\njobs: { a: { build: { repository: app } } }\n`;
  assert.match(problems(on('*a*a*a*a*b')).diagnostics[0]?.message ?? '', /more than 3 wildcards/);
  for (const fine of ['release/*', 'v*.*.*', '**/feature-*', '*(a|b)*x*y*z', 'a\\\\*b*c*d*e']) assert.deepEqual(problems(on(fine)).list, [], fine);
});
