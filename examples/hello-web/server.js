// hello-web's entry point: reads PORT and the app settings from the environment, serves, and on
// SIGTERM (what `docker stop` and Slipway's rollouts send) drains in-flight requests, then exits.
import { configFromEnv, startApp } from './app.js';

const port = parsePort(process.env.PORT ?? '8080');
// Below Docker's default 10 s stop timeout, so that we exit on our own before a SIGKILL.
const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 9000);
const startDelayMs = Number(process.env.START_DELAY_MS ?? 0);
const config = configFromEnv();

function parsePort(text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`hello-web: PORT must be a number from 0 to 65535, not '${text}'`);
    process.exit(2);
  }
  return value;
}

// START_DELAY_MS simulates an app that takes a while to start (health-check grace periods).
if (startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, startDelayMs));

const { server, port: listening } = await startApp({ ...config, port });
// The self-test and the tests read this line to learn the port when PORT=0.
console.log(`hello-web ${config.version} listening on port ${listening}`);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log(`hello-web: ${signal} received, draining in-flight requests (up to ${shutdownTimeoutMs} ms)`);
    const drained = await server.drain(shutdownTimeoutMs);
    console.log(drained ? 'hello-web: stopped' : 'hello-web: drain deadline passed, connections cut');
    process.exit(drained ? 0 : 1);
  });
}
