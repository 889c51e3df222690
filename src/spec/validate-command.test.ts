// `slipway validate` driven in-process through its CliIO (the command lives in src/cli/validate.ts;
// the test sits here so `node scripts/test.mjs spec` runs it with the rest of the spec tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { CliIO } from '../cli/io.js';
import { UsageError } from '../cli/io.js';
import { validate } from '../cli/validate.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function withDir(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-validate-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function io(cwd: string, tty = false): CliIO & { stdout: Capture; stderr: Capture } {
  const stdout = new Capture();
  const stderr = new Capture();
  stderr.isTTY = tty;
  return { stdout, stderr, env: {}, cwd };
}

const GOOD = 'version: 1\nname: app\njobs:\n  test:\n    image: node:20\n    steps:\n      - run: npm test\n  image:\n    needs: [test]\n    build: { repository: app }\n';
const BAD = 'version: 1\nname: app\njobs:\n  test:\n    image: node:20\n    stpes:\n      - run: npm test\n    timeout: 10\n';

test('a valid slipway.yaml in the working folder: exit 0 and the job count', async () => {
  await withDir({ 'slipway.yaml': GOOD }, async (dir) => {
    const streams = io(dir);
    assert.equal(await validate([], streams), 0);
    assert.equal(streams.stdout.text, 'slipway.yaml is valid (2 jobs)\n');
    assert.equal(streams.stderr.text, '');
  });
});

test('an invalid file: every problem as file:line:col on stderr, exit 2', async () => {
  await withDir({ 'ci.yaml': BAD }, async (dir) => {
    const streams = io(dir);
    assert.equal(await validate(['ci.yaml'], streams), 2);
    assert.equal(
      streams.stderr.text,
      "ci.yaml:6:5: error: unknown key 'stpes' in job 'test' (did you mean 'steps'?)\n" +
        "ci.yaml:8:14: error: 'timeout' in job 'test' must be a duration like 10s, 1m30s or 2h, not the number 10; add a unit, e.g. 10s or 10m\n" +
        'ci.yaml: 2 errors\n',
    );
    assert.equal(streams.stdout.text, '');
  });
});

test('on a terminal each problem gets a code frame with a caret', async () => {
  await withDir({ 'slipway.yaml': BAD }, async (dir) => {
    const streams = io(dir, true);
    assert.equal(await validate([], streams), 2);
    const plain = streams.stderr.text.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /slipway\.yaml:6:5: error: unknown key 'stpes'.*\[SPEC_UNKNOWN_KEY\]\n/);
    assert.match(plain, /> 6 \|     stpes:\n\s+\|     \^\n/);
  });
});

test('--json prints the diagnostics with their codes on stdout', async () => {
  await withDir({ 'slipway.yaml': BAD }, async (dir) => {
    const streams = io(dir);
    assert.equal(await validate(['--json'], streams), 2);
    const report = JSON.parse(streams.stdout.text) as { valid: boolean; diagnostics: Array<{ code: string; line: number; col: number }> };
    assert.equal(report.valid, false);
    assert.deepEqual(report.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`), ['6:5 SPEC_UNKNOWN_KEY', '8:14 SPEC_DURATION']);
  });
});

test('a missing file is exit 2 with a clear message', async () => {
  await withDir({}, async (dir) => {
    const streams = io(dir);
    assert.equal(await validate([], streams), 2);
    assert.match(streams.stderr.text, /^slipway\.yaml: error: cannot read the pipeline file: no such file\n\(run 'slipway init'/);
    const named = io(dir);
    assert.equal(await validate(['other.yaml'], named), 2);
    assert.match(named.stderr.text, /^other\.yaml: error: cannot read the pipeline file: no such file/);
  });
});

test('--help prints usage; an unknown flag is a usage error', async () => {
  const streams = io(tmpdir());
  assert.equal(await validate(['--help'], streams), 0);
  assert.match(streams.stdout.text, /^usage: slipway validate \[FILE\] \[--json\]/);
  await assert.rejects(validate(['--jsn'], io(tmpdir())), UsageError);
  await assert.rejects(validate(['a.yaml', 'b.yaml'], io(tmpdir())), UsageError);
});

test('a code frame on a very long line shows 120 columns around the caret, not the whole line', async () => {
  const long = `version: 1\nname: app\njobs:\n  test:\n    image: node:20\n    steps:\n      - run: echo ${'x'.repeat(4000)} \${{ brnach }} ${'y'.repeat(4000)}\n`;
  await withDir({ 'slipway.yaml': long }, async (dir) => {
    const streams = io(dir, true);
    assert.equal(await validate([], streams), 2);
    const plain = streams.stderr.text.replace(/\x1b\[[0-9;]*m/g, '');
    const frame = plain.split('\n').filter((line) => /^[ >] +\d+ \|/.test(line) || /^ +\| +\^/.test(line));
    for (const line of frame) assert.ok(line.length < 140, `a frame line of ${line.length} characters`);
    const source = frame.find((line) => line.startsWith('>')) ?? '';
    const caret = frame.find((line) => line.includes('^')) ?? '';
    assert.equal(source[caret.indexOf('^')], 'b', 'the caret stands under the start of brnach');
  });
});

test('a file that is a folder, or above the size limit, is exit 2 with a message naming the problem', async () => {
  await withDir({ 'big.yaml': `version: 1\n# ${'x'.repeat(1024 * 1024)}\n` }, async (dir) => {
    const big = io(dir);
    assert.equal(await validate(['big.yaml'], big), 2);
    assert.match(big.stderr.text, /^big\.yaml: error: the file is 1048590 bytes \(1\.0 MiB\); a pipeline file may be at most 1 MiB \(1048576 bytes\)\n/);
    const folder = io(dir);
    assert.equal(await validate(['.'], folder), 2);
    assert.match(folder.stderr.text, /is a folder, not a pipeline file/);
  });
});

test('a valid file with a matrix: the count once expanded and each combination, in text and in --json', async () => {
  const matrix = 'version: 1\nname: app\njobs:\n  test:\n    image: node:${{ matrix.node }}\n    matrix: { node: [18, 20] }\n    steps:\n      - run: npm test\n  image:\n    needs: [test]\n    build: { repository: app }\n';
  await withDir({ 'slipway.yaml': matrix }, async (dir) => {
    const streams = io(dir);
    assert.equal(await validate([], streams), 0);
    assert.equal(streams.stdout.text, 'slipway.yaml is valid (2 jobs; 3 once matrices are expanded)\n  test (node=18)\n  test (node=20)\n');
    const json = io(dir);
    assert.equal(await validate(['--json'], json), 0);
    const report = JSON.parse(json.stdout.text) as { jobs: number; expandedJobs: string[] };
    assert.equal(report.jobs, 2);
    assert.deepEqual(report.expandedJobs, ['test (node=18)', 'test (node=20)', 'image']);
  });
});
