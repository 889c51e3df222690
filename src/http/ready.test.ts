// Requests that reach a server before its app is ready wait for it: none is accepted and left
// unanswered (a health poll right after a start under load once hung for five minutes so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { holdRequestsUntilReady } from './ready.js';

test('a request that arrives before the app is ready is answered by the app once it is', async () => {
  const server = createServer();
  const ready = holdRequestsUntilReady(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    let early: Response | undefined;
    const pending = fetch(url).then((res) => (early = res));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(early, undefined, 'held while the app is not there');
    ready((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`app answered ${req.url}`);
    });
    assert.equal(await (await pending).text(), 'app answered /healthz');
    assert.equal(await (await fetch(url)).text(), 'app answered /healthz', 'later requests go straight to it');
  } finally {
    server.close();
  }
});
