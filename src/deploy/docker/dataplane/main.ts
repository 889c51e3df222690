// The data plane process: `node dist/src/deploy/docker/dataplane/main.js --control SOCKET --state FILE`.
// It serves what FILE holds at once (no controller needed), then answers the control API on SOCKET.
// Node builtins and this repository only: it runs from a plain node image with the repo mounted.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { answers, createControlServer, listenControl } from './control.js';
import { DataPlane } from './server.js';

/** How long in-flight requests may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} dataplane: ${line}\n`);
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node main.js --control SOCKET --state FILE\n`);
  process.exit(2);
}

/** Run as root (a container), files are handed to the owner of the state file's directory. */
async function ownerFor(statePath: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const dir = await stat(path.dirname(statePath));
  return dir.uid === 0 ? undefined : { uid: dir.uid, gid: dir.gid };
}

async function main(): Promise<void> {
  let values: { control?: string; state?: string };
  try {
    ({ values } = parseArgs({ options: { control: { type: 'string' }, state: { type: 'string' } }, strict: true }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (!values.control || !values.state) usage('--control and --state are required');
  const control = path.resolve(values.control);
  const statePath = path.resolve(values.state);
  if (await answers(control)) {
    log(`another data plane answers on ${control}; exiting`);
    process.exit(3);
  }
  const owner = await ownerFor(statePath);
  const plane = new DataPlane({ statePath, log, ...(owner ? { owner } : {}) });
  await plane.restore();
  const server = createControlServer(plane, log);
  await listenControl(server, control, owner);
  log(`serving; control API on ${control}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: no new connections; in-flight requests get ${SHUTDOWN_GRACE_MS / 1000} s`);
    server.close();
    server.closeAllConnections();
    plane.shutdown(SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
});
