// server.js as a process, the way a container runs it: PORT from the environment, and a SIGTERM
// that lets in-flight requests finish before the process exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const serverPath = fileURLToPath(new URL('../server.js', import.meta.url));

function startServer(env = {}) {
  const child = spawn(process.execPath, [serverPath], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${output}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, port, exited, output: () => output };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

test('server.js reads VERSION and GREETING from the environment', async (t) => {
  const server = startServer({ VERSION: 'v9', GREETING: 'howdy' });
  t.after(() => server.child.kill('SIGKILL'));
  const port = await server.port;
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'howdy from hello-web v9\n');
});

test('SIGTERM finishes the in-flight request, refuses new connections and exits 0', async (t) => {
  const server = startServer();
  t.after(() => server.child.kill('SIGKILL'));
  const port = await server.port;

  // /slow sends its headers at once and its body later: having the headers proves the request
  // is in flight when the signal arrives
  const inFlight = await fetch(`http://127.0.0.1:${port}/slow?ms=400`);
  server.child.kill('SIGTERM');

  assert.equal(await inFlight.text(), 'slow 400\n');
  assert.equal(await server.exited, 0);
  assert.match(server.output(), /SIGTERM received/);
  assert.equal(await canConnect(port), false);
});

test('SIGTERM with no request in flight exits at once', async () => {
  const server = startServer();
  const port = await server.port;
  // a kept-alive idle connection must not hold the process open
  await fetch(`http://127.0.0.1:${port}/`).then((res) => res.text());
  const started = Date.now();
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('a request that outlives SHUTDOWN_TIMEOUT_MS is cut and the exit code says so', async (t) => {
  const server = startServer({ SHUTDOWN_TIMEOUT_MS: '200' });
  t.after(() => server.child.kill('SIGKILL'));
  const port = await server.port;
  const res = await fetch(`http://127.0.0.1:${port}/slow?ms=5000`);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 1);
  assert.equal(await res.text().then(() => 'answered', () => 'cut'), 'cut');
});

test('an invalid PORT is refused with exit 2', async () => {
  const server = startServer({ PORT: 'eighty' });
  assert.equal(await server.exited, 2);
  await server.port.catch(() => undefined);
});
