// The image's self-test: starts server.js as its own process on a spare port, checks / and
// /healthz, stops it with SIGTERM and checks that it exits cleanly. Exit 0 = healthy image.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const serverPath = fileURLToPath(new URL('./server.js', import.meta.url));
const deadlineMs = 10_000;

const child = spawn(process.execPath, [serverPath], {
  env: { ...process.env, PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const failures = [];

try {
  const port = await listeningPort(child);
  const base = `http://127.0.0.1:${port}`;
  await check(`${base}/`, (status, body) => status === 200 && body.includes('from hello-web'));
  await check(`${base}/healthz`, (status, body) => status === 200 && body.trim() === 'ok');
  await check(`${base}/version`, (status, body) => status === 200 && typeof JSON.parse(body).version === 'string');
  child.kill('SIGTERM');
  const code = await exitCode(child);
  if (code !== 0) failures.push(`server exited with ${code} after SIGTERM, expected 0`);
  else console.log('ok  SIGTERM → clean exit');
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
  child.kill('SIGKILL');
}

if (failures.length > 0) {
  for (const failure of failures) console.error(`FAIL ${failure}`);
  process.exit(1);
}
console.log('selftest passed');

async function check(url, isGood) {
  const res = await fetch(url, { signal: AbortSignal.timeout(deadlineMs) });
  const body = await res.text();
  if (isGood(res.status, body)) console.log(`ok  GET ${new URL(url).pathname} → ${res.status}`);
  else failures.push(`GET ${new URL(url).pathname} → ${res.status} ${JSON.stringify(body)}`);
}

function listeningPort(proc) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${deadlineMs} ms`)), deadlineMs);
    let seen = '';
    proc.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = /listening on port (\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening`));
    });
  });
}

function exitCode(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    const timer = setTimeout(() => proc.kill('SIGKILL'), deadlineMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}
