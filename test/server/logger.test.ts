// The server's log as an operator reads it: one JSON line per API request under the request id the
// caller sent (and got back), and every line about a run carrying its runId.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/server/logger.js';
import { eventually } from '../support/wait.js';
import { tempRepo, testServer, type TestServer } from './support.js';

interface LogLine {
  level: number;
  time: number;
  msg: string;
  reqId?: string;
  runId?: string;
  method?: string;
  url?: string;
  status?: number | string;
  ms?: number;
}

const lines: string[] = [];
const records = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);
let server: TestServer;
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: logged
jobs:
  hi:
    image: busybox:latest
    steps:
      - run: echo hi
`,
});

before(async () => {
  server = await testServer({ logger: createLogger({ output: { isTTY: false, write: (chunk: string) => lines.push(chunk) } }) });
});

after(async () => {
  await server.stop();
  repo.remove();
});

test('an API request is one JSON line under the X-Request-Id it sent, which it gets back', async () => {
  const res = await fetch(`${server.url}/api/runs?project=nothing-here`, { headers: { Authorization: `Bearer ${server.token}`, 'X-Request-Id': 'abc123' } });
  await res.text();
  assert.equal(res.headers.get('x-request-id'), 'abc123');
  const line = await eventually('the request line', async () => records().find((r) => r.reqId === 'abc123' && r.msg === 'request'));
  assert.equal(line.level, 30);
  assert.equal(line.method, 'GET');
  assert.equal(line.url, '/api/runs?project=nothing-here');
  assert.equal(line.status, res.status);
  assert.equal(typeof line.ms, 'number');
  assert.equal(typeof line.time, 'number');
  assert.equal('runId' in line, false);
  assert.equal(records().filter((r) => r.reqId === 'abc123').length, 1, 'one line per request');
  assert.ok(!lines.some((l) => l.includes(server.token)), 'the token is never logged');
});

test('an unsafe or missing X-Request-Id is replaced by a generated one, echoed back', async () => {
  for (const given of ['has spaces and "quotes"', 'x'.repeat(65), undefined]) {
    const res = await fetch(`${server.url}/healthz`, { headers: given === undefined ? {} : { 'X-Request-Id': given } });
    await res.text();
    const id = res.headers.get('x-request-id');
    assert.ok(id && id !== given && /^[A-Za-z0-9_-]{8,}$/.test(id), `generated id ${id}`);
    await eventually(`the line of ${id}`, async () => records().some((r) => r.reqId === id));
  }
});

test("every line about a run carries its runId; API lines don't", async () => {
  await server.push(repo, 'logged');
  const run = await server.waitForRun('logged', 1);
  assert.equal(run.status, 'success', run.reason);
  await eventually('the run finished line', async () => records().some((r) => r.runId === run.id && r.msg === 'run finished'));
  const ofRun = records().filter((r) => r.runId === run.id);
  assert.deepEqual(
    ofRun.map((r) => r.msg),
    ['run started', 'run finished'],
  );
  assert.equal(ofRun[1]!.status, 'success');
  assert.ok(records().every((r) => r.runId === undefined || r.reqId === undefined), 'a request line never carries a runId');
});
