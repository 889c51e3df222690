// The agent's socket API refuses what it cannot take before reading it: a body past its limit is a
// 413 (not read into memory), a body that is not JSON a 400, and the client reports either as an
// invalid request rather than a lost agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, AGENT_BODY_LIMIT_BYTES, AgentClient, socketPath } from '../../src/deploy/docker/index.js';
import { DeployError } from '../../src/deploy/index.js';

function post(dataDir: string, pathname: string, body: Buffer | string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socketPath(dataDir), method: 'POST', path: pathname, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
    });
    // the agent answers before the body is all sent and may close the connection under it
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    req.end(body);
  });
}

test('the deploy agent refuses a body past its limit with 413, a non-JSON one with 400, and keeps serving', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'slipway-agent-api-'));
  const agent = await Agent.start({ dataDir, log: () => undefined });
  t.after(async () => {
    await agent.shutdown(true);
    await rm(dataDir, { recursive: true, force: true });
  });
  const client = new AgentClient(dataDir);
  const huge = { app: 'web', environment: 'test', config: { image: 'x'.repeat(AGENT_BODY_LIMIT_BYTES) }, trigger: { by: 'test', kind: 'deploy' } };

  const declared = await post(dataDir, '/deploy', JSON.stringify(huge));
  assert.equal(declared.status, 413);
  assert.equal((declared.body as { code: string }).code, 'REQUEST_TOO_LARGE');

  // no Content-Length: refused once the bytes read pass the limit
  const chunked = await post(dataDir, '/remove', JSON.stringify(huge), { 'transfer-encoding': 'chunked' });
  assert.equal(chunked.status, 413);

  const notJson = await post(dataDir, '/cancel', '{"app": ');
  assert.deepEqual([notJson.status, (notJson.body as { code: string }).code], [400, 'REQUEST_INVALID_JSON']);

  // the client's rollout stream sees one error answer, not an agent that died mid-stream
  await assert.rejects(
    client.stream('/deploy', huge as never, () => undefined),
    (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID' && /at most 65536/.test(err.message),
  );
  await assert.rejects(client.request('POST', '/remove', huge), (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID');

  // a body just under the limit is read as before
  assert.deepEqual(await client.request('POST', '/cancel', { app: 'web', environment: 'test', pad: 'x'.repeat(AGENT_BODY_LIMIT_BYTES - 100) }), { cancelled: false });
  assert.ok(await client.ping(), 'the agent still answers');
  assert.deepEqual(await client.status(), [], 'nothing was deployed');
});
