// BuildKit's progress messages as Debian's Docker 20.10 streamed them for a two-step build (the
// FROM cached, the RUN printing two lines), decoded and rendered like `--progress=plain`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeStatusResponse, TraceRenderer } from '../../src/build/buildkit-trace.js';
import { repoRoot } from '../support/paths.js';

interface EngineMessage {
  id?: string;
  aux?: unknown;
}

const messages = readFileSync(path.join(repoRoot, 'test', 'build', 'fixtures', 'buildkit-build.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as EngineMessage);

test('a real BuildKit trace renders as numbered steps with their output, CACHED and DONE', () => {
  const lines: string[] = [];
  const renderer = new TraceRenderer((line) => lines.push(line));
  for (const m of messages) if (m.id === 'moby.buildkit.trace' && typeof m.aux === 'string') renderer.render(decodeStatusResponse(m.aux));
  renderer.end();
  const shown = lines.map((line) => line.replace(/DONE \d+\.\ds$/, 'DONE'));
  assert.deepEqual(shown, [
    '#1 [internal] load remote build context',
    '#1 DONE',
    '#2 copy /context /',
    '#2 DONE',
    '#3 [internal] load metadata for docker.io/library/busybox:latest',
    '#3 DONE',
    '#4 [1/2] FROM docker.io/library/busybox:latest',
    '#4 CACHED',
    '#5 [2/2] RUN echo hello-from-run-5765 && echo second line',
    '#5 hello-from-run-5765',
    '#5 second line',
    '#5 DONE',
    '#6 exporting to image',
    '#6 DONE',
  ]);
});

test('a vertex error, a warning and output without a final newline are shown', () => {
  // StatusResponse{vertexes:[{digest:"d1", name:"RUN x", started:{seconds:1}, completed:{seconds:2}, error:"exit code: 3"}],
  //                logs:[{vertex:"d1", msg:"no newline"}], warnings:[{vertex:"d1", short:"deprecated"}]}
  const vertex = Buffer.concat([field(1, 'd1'), field(3, 'RUN x'), field(5, Buffer.from([0x08, 0x01])), field(6, Buffer.from([0x08, 0x02])), field(7, 'exit code: 3')]);
  const log = Buffer.concat([field(1, 'd1'), field(4, 'no newline')]);
  const warning = Buffer.concat([field(1, 'd1'), Buffer.from([0x10, 0x01]), field(3, 'deprecated')]);
  const response = Buffer.concat([field(1, vertex), field(3, log), field(4, warning)]);
  const lines: string[] = [];
  const renderer = new TraceRenderer((line) => lines.push(line));
  renderer.render(decodeStatusResponse(response.toString('base64')));
  renderer.end();
  assert.deepEqual(lines, ['#1 RUN x', '#1 ERROR: exit code: 3', '#1 WARN: deprecated', '#1 no newline']);
});

test('a truncated message is an error for the caller, not a crash of the renderer', () => {
  assert.throws(() => decodeStatusResponse(Buffer.from([0x0a, 0x10, 0x01]).toString('base64')), /truncated/);
});

/** A length-delimited protobuf field. */
function field(number: number, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}
