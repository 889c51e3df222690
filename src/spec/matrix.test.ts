// Matrix jobs in the spec: the expansion (GitHub Actions' product order and include/exclude rules),
// its limits, where its problems are reported, and what the compiled jobs carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/support/paths.js';
import type { StepsJob } from './model.js';
import { formatDiagnostic, parsePipeline, renderTemplate } from './index.js';
import { expandMatrix, readMatrix } from './matrix.js';

const HEAD = 'version: 1\nname: app\njobs:\n';

function expand(matrix: unknown): { names: string[]; problems: string[] } {
  const raw = readMatrix(matrix);
  assert.ok(raw, 'the matrix reads');
  const { combinations, problems } = expandMatrix('job', raw);
  return { names: combinations.map((c) => c.name), problems: problems.map((p) => `${p.severity} ${p.message}`) };
}

/** A steps job with `matrixYaml` (indented by 6) and `extra` job keys. */
function withMatrix(matrixYaml: string, extra = ''): string {
  return `${HEAD}  test:\n    image: node:20\n${extra}    matrix:\n${matrixYaml}    steps: [{ run: echo hi }]\n`;
}

function problems(text: string): string[] {
  return parsePipeline(text, 'slipway.yaml').diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
}

test('a matrix runs the product of its values, the first key varying slowest, named by keys in the order written', () => {
  assert.deepEqual(expand({ node: [18, 20], db: ['sqlite', 'pg'] }).names, [
    'job (node=18, db=sqlite)',
    'job (node=18, db=pg)',
    'job (node=20, db=sqlite)',
    'job (node=20, db=pg)',
  ]);
  assert.deepEqual(expand({ db: ['sqlite', 'pg'], node: [18] }).names, ['job (db=sqlite, node=18)', 'job (db=pg, node=18)']);
  assert.deepEqual(expand({ flag: [true, false], ratio: [1.5] }).names, ['job (flag=true, ratio=1.5)', 'job (flag=false, ratio=1.5)']);
});

test('exclude removes every combination that has all of an entry’s values; values compare as they read', () => {
  const matrix = { os: ['linux', 'mac', 'win'], node: [18, 20], exclude: [{ os: 'win' }, { os: 'mac', node: '18' }] };
  assert.deepEqual(expand(matrix).names, ['job (os=linux, node=18)', 'job (os=linux, node=20)', 'job (os=mac, node=20)']);
});

test('include extends the combinations it agrees with on the matrix’s own keys, else adds one (GitHub’s documented example)', () => {
  const matrix = {
    fruit: ['apple', 'pear'],
    animal: ['cat', 'dog'],
    include: [{ color: 'green' }, { color: 'pink', animal: 'cat' }, { fruit: 'apple', shape: 'circle' }, { fruit: 'banana' }, { fruit: 'banana', animal: 'cat' }],
  };
  assert.deepEqual(expand(matrix).names, [
    'job (fruit=apple, animal=cat, color=pink, shape=circle)',
    'job (fruit=apple, animal=dog, color=green, shape=circle)',
    'job (fruit=pear, animal=cat, color=pink)',
    'job (fruit=pear, animal=dog, color=green)',
    'job (fruit=banana)',
    'job (fruit=banana, animal=cat)',
  ]);
});

test('include never overwrites a value of the matrix’s own keys: such an entry is a combination of its own', () => {
  assert.deepEqual(expand({ node: [18], include: [{ node: 22, experimental: true }] }).names, ['job (node=18)', 'job (node=22, experimental=true)']);
  // include is applied after exclude: it may bring back what exclude removed
  assert.deepEqual(expand({ node: [18, 20], exclude: [{ node: 20 }], include: [{ node: 20 }] }).names, ['job (node=18)', 'job (node=20)']);
  assert.deepEqual(expand({ include: [{ os: 'linux' }, { os: 'mac', arch: 'arm64' }] }).names, ['job (os=linux)', 'job (os=mac, arch=arm64)']);
});

test('limits: 256 combinations run, 257 do not; the product before exclude may be larger, up to 4096', () => {
  const values = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  assert.equal(expand({ a: values(16), b: values(16) }).names.length, 256);
  assert.match(expand({ a: values(17), b: values(16) }).problems[0] ?? '', /makes 272 combinations; a job may run at most 256/);
  const excluded = expand({ a: values(20), b: values(20), exclude: values(8).map((a) => ({ a })) });
  assert.deepEqual(excluded.problems, []);
  assert.equal(excluded.names.length, 240);
  assert.match(expand({ a: values(65), b: values(64) }).problems[0] ?? '', /makes 4160 combinations \(65 × 64\); a matrix may make at most 4096 before exclude/);
  assert.match(expand({ a: ['x'.repeat(100)], b: ['y'.repeat(60)] }).problems[0] ?? '', /would get the 172-character name 'job \(a=x+…'; the names of matrix jobs are at most 160 characters/);
  const keys = Object.fromEntries(values(17).map((i) => [`k${i}`, [1]]));
  assert.match(expand(keys).problems[0] ?? '', /has 17 keys .*at most 16/);
});

test('a bad matrix value is an error at its own line and column', () => {
  const text = `${HEAD}  test:\n    image: node:20\n    matrix:\n      os: [a, [b]]\n    steps: [{ run: echo hi }]\n`;
  const result = parsePipeline(text, 'slipway.yaml');
  assert.equal(result.pipeline, undefined);
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    "slipway.yaml:7:15: error: item 2 of 'os' in 'matrix' of job 'test' must be a string, number or boolean, not a list",
  ]);
  assert.deepEqual(problems(withMatrix('      os: ["a\\u0007b", 1.5, .nan, "é"]\n')), [
    "7:12 error SPEC_VALUE item 1 of 'os' in 'matrix' of job 'test' must be a value of 1 to 100 printable ASCII characters, not 'a\\u0007b'",
    "7:29 error SPEC_MATRIX matrix values must be finite numbers, strings or booleans, not NaN (job 'test')",
    "7:35 error SPEC_VALUE item 4 of 'os' in 'matrix' of job 'test' must be a value of 1 to 100 printable ASCII characters, not 'é'",
  ]);
});

test('matrix problems point at the key, value or entry at fault', () => {
  assert.deepEqual(problems(withMatrix('      node: 18\n      2x: [1]\n')), [
    "7:13 error SPEC_TYPE 'node' in 'matrix' of job 'test' must be a list of values (strings, numbers or booleans), not the number 18; write [18] for a list of one",
    "8:7 error SPEC_NAME invalid name '2x' in 'matrix' of job 'test': expected a matrix key (letters, digits, _ and -, not starting with a digit or -)",
  ]);
  assert.deepEqual(problems(withMatrix('      node: [18, 20, 18]\n      exclude:\n        - { nod: 18 }\n        - { node: 22 }\n')), [
    "7:22 error SPEC_MATRIX '18' is listed twice under 'node' in the matrix of job 'test'; list each value once",
    "9:13 error SPEC_MATRIX exclude entry 1 of job 'test' names 'nod', which is not a key of its matrix (did you mean 'node'?)",
    '10:11 warning SPEC_MATRIX exclude entry 2 of job \'test\' matches no combination, so it removes nothing; check its values',
  ]);
  assert.deepEqual(problems(withMatrix('      node: [18]\n      exclude: [{ node: 18 }]\n')), [
    "6:5 error SPEC_MATRIX every combination of the matrix of job 'test' is excluded: nothing would run",
  ]);
  assert.deepEqual(problems(withMatrix('      include: [{ node: 22 }, {}]\n      inclde: [{ node: 20 }]\n')), [
    "7:31 error SPEC_VALUE item 2 of 'include' in 'matrix' of job 'test' is empty: add at least one entry",
    "8:7 error SPEC_UNKNOWN_KEY unknown key 'inclde' in 'matrix' of job 'test' (did you mean 'include'?)",
  ]);
  assert.deepEqual(problems(`${HEAD}  image:\n    matrix: { arch: [amd64] }\n    build: { repository: app }\n`), [
    "5:5 error SPEC_JOB_KIND 'matrix' belongs to steps jobs, but job 'image' is a build job; move it to a job of its own",
  ]);
});

test('matrix.KEY reads only keys the job’s matrix has, only in a matrix job and not in its if:', () => {
  const text = `version: 1
name: app
env: { TOP: "\${{ matrix.node }}" }
jobs:
  test:
    image: node:\${{ matrix.nod }}
    if: matrix.node == 18
    matrix: { node: [18], include: [{ node: 18, extra: x }] }
    steps: [{ run: "echo \${{ matrix.extra }} \${{ matrix.node.major }} \${{ matrix }}" }]
  lint:
    image: node
    steps: [{ run: "echo \${{ matrix.node }}" }]
`;
  assert.deepEqual(problems(text), [
    '3:18 error SPEC_EXPRESSION pipeline-level values cannot read matrix.node: only the steps of a matrix job can; move it into that job',
    "6:28 error SPEC_EXPRESSION unknown matrix key 'nod' (did you mean 'node'?); the matrix of job 'test' has node, extra",
    "7:9 error SPEC_EXPRESSION the if: of job 'test' cannot read matrix.node: it decides for every combination at once; leave combinations out with matrix.exclude",
    "9:62 error SPEC_EXPRESSION matrix.node is a value and has no '.major'",
    "9:75 error SPEC_EXPRESSION 'matrix' needs a key: matrix.node",
    "12:30 error SPEC_EXPRESSION job 'lint' has no matrix, so matrix.node is never set; give the job one (matrix: { node: [...] }) or remove it",
  ]);
});

test('compiled: one job per combination with its base name and values; needs on the matrix job wait for them all', () => {
  const text = `${HEAD}  test:
    image: node:\${{ matrix.node }}
    env: { DB: "\${{ matrix.db }}" }
    matrix: { node: [18, 20], db: [pg] }
    steps: [{ run: "echo \${{ matrix.node }}-\${{ matrix.db }}" }]
  lint:
    image: node:20
    fail-fast: false
    matrix: { os: [a] }
    steps: [{ run: echo lint }]
  report:
    needs: [test, lint]
    image: node:20
    steps: [{ run: "echo \${{ jobs.test.result }}" }]
`;
  const { pipeline, diagnostics } = parsePipeline(text, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  assert.deepEqual(pipeline.jobs.map((j) => j.name), ['test (node=18, db=pg)', 'test (node=20, db=pg)', 'lint (os=a)', 'report']);
  const [first, second, lint, report] = pipeline.jobs as StepsJob[];
  assert.deepEqual(first?.matrix, { base: 'test', values: { node: 18, db: 'pg' }, failFast: true });
  assert.deepEqual(lint?.matrix, { base: 'lint', values: { os: 'a' }, failFast: false });
  assert.deepEqual(report?.needs, ['test (node=18, db=pg)', 'test (node=20, db=pg)', 'lint (os=a)']);
  assert.equal(report?.matrix, undefined);
  // positions stay those of the file, shared by every combination
  assert.deepEqual(second?.steps[0]?.run.position, { file: 'slipway.yaml', line: 8, col: 20 });
  assert.deepEqual(second?.position, first?.position);
  const ctx = { branch: 'main', event: 'push', commit: 'abc', env: {}, jobs: {}, matrix: second!.matrix!.values };
  assert.equal(renderTemplate(second!.image, ctx), 'node:20');
  assert.equal(renderTemplate(second!.steps[0]!.run, ctx), 'echo 20-pg');
  assert.equal(renderTemplate(second!.env.DB!, ctx), 'pg');
});

test('hostile matrices: prototype keys stay plain keys, and huge ones are refused quickly', () => {
  const proto = parsePipeline(withMatrix('      __proto__: [1, 2]\n      constructor: [a]\n').replace('echo hi', '"echo ${{ matrix.__proto__ }}"'), 'slipway.yaml');
  assert.deepEqual(proto.diagnostics, []);
  const job = proto.pipeline?.jobs[1] as StepsJob;
  assert.equal(job.name, 'test (__proto__=2, constructor=a)');
  assert.ok(Object.hasOwn(job.matrix!.values, '__proto__'));
  assert.equal(renderTemplate(job.steps[0]!.run, { branch: '', event: '', commit: '', env: {}, jobs: {}, matrix: job.matrix!.values }), 'echo 2');

  const started = performance.now();
  const many = Array.from({ length: 200 }, (_, i) => i).join(', ');
  assert.match(problems(withMatrix(`      a: [${many}]\n      b: [${many}]\n      c: [${many}]\n`)).join('\n'), /makes 8000000 combinations/);
  const keys = Array.from({ length: 200 }, (_, i) => `      k${i}: [1]\n`).join('');
  assert.match(problems(withMatrix(keys)).join('\n'), /has 200 keys/);
  const list = Array.from({ length: 300 }, (_, i) => i).join(', ');
  assert.deepEqual(problems(withMatrix(`      a: [${list}]\n`)).map((p) => p.split(' ').slice(0, 3).join(' ')), ['7:1181 error SPEC_VALUE']);
  assert.ok(performance.now() - started < 5000, 'refused quickly');
});

test('the matrices of a pipeline expand to at most 1000 jobs', () => {
  const job = (name: string): string => `  ${name}:\n    image: node:20\n    matrix: { a: [${Array.from({ length: 16 }, (_, i) => i)}], b: [${Array.from({ length: 16 }, (_, i) => i)}] }\n    steps: [{ run: echo }]\n`;
  assert.deepEqual(problems(`${HEAD}${['j1', 'j2', 'j3', 'j4'].map(job).join('')}`), [
    "18:5 error SPEC_TOO_LARGE with its matrix, job 'j4' takes the pipeline past 1000 jobs; a pipeline may run at most 1000: make the matrices smaller or split the pipeline",
  ]);
});

test('the example of docs/pipeline-file.md is valid and runs the jobs the page lists', () => {
  const docs = readFileSync(path.join(repoRoot, 'docs', 'pipeline-file.md'), 'utf8');
  const section = docs.slice(docs.indexOf('### Matrix jobs'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const listed = /\n\n((?: {4}test \(.*\)\n)+)/.exec(section)?.[1]?.trim().split('\n').map((line) => line.trim()) ?? [];
  const { pipeline, diagnostics } = parsePipeline(`version: 1\nname: app\n${yaml}`, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(listed.length > 0);
  assert.deepEqual(pipeline?.jobs.filter((j) => j.matrix).map((j) => j.name), listed);
});
