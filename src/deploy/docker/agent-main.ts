// Entry of the deploy agent process (`node agent-main.js --data DIR`). The CLI and the server start
// it detached under `--supervise`: a small parent that restarts the agent whenever it dies (a
// SIGKILL, a crash, the Docker engine going away), so the controller is back by itself within a few
// seconds while the data plane — containers of their own — keeps serving. SIGTERM stops it; replicas
// and the data plane keep running.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, AgentLockHeld } from './agent.js';

/** The agent's exit codes the supervisor reads. */
export const EXIT_STOPPED = 0;
/** another live agent serves the data directory: nothing to supervise */
export const EXIT_LOCK_HELD = 3;
/** the engine connection dropped: start again once it answers */
export const EXIT_ENGINE_LOST = 75;

const AGENT_MAIN = fileURLToPath(import.meta.url);

export async function runAgent(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, host: { type: 'string' }, supervise: { type: 'boolean' } }, strict: true });
  if (!values.data) {
    process.stderr.write('slipway agent: --data DIR is required\n');
    return 2;
  }
  if (values.supervise) return supervise(values.data, values.host);
  if (process.env.SLIPWAY_AGENT_STANDBY === '1' && process.send) {
    // A warm standby: the modules are loaded; start when the supervisor says the agent died.
    const go = await new Promise<boolean>((resolve) => {
      process.once('message', () => resolve(true));
      process.once('disconnect', () => resolve(false));
    });
    if (!go) return EXIT_STOPPED;
    process.disconnect?.();
  }
  let agent: Agent;
  try {
    agent = await Agent.start({
      dataDir: values.data,
      ...(values.host ? { host: values.host } : {}),
      onEngineLost: () => {
        process.stderr.write(`${new Date().toISOString()} the Docker engine connection dropped; restarting to adopt what it runs when it is back\n`);
        process.exit(EXIT_ENGINE_LOST);
      },
    });
  } catch (err) {
    process.stderr.write(`${new Date().toISOString()} slipway agent: ${(err as Error).message}\n`);
    return err instanceof AgentLockHeld ? EXIT_LOCK_HELD : 1;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void agent.shutdown(false));
  await agent.closed;
  return EXIT_STOPPED;
}

/**
 * Runs the agent as a child and starts it again when it exits without being asked to. A second
 * child waits beside it with its modules loaded (loading them is most of an agent's start), so a
 * killed agent's successor answers within a second or so. An agent that keeps dying young — a
 * Docker engine that is down, say — is started again later and later (0.2 s doubling to 3 s).
 * Exits with the agent when it stopped on request or found another agent serving the directory.
 */
async function supervise(dataDir: string, host: string | undefined): Promise<number> {
  let stopping = false;
  let active: ChildProcess | undefined;
  let standby: ChildProcess | undefined;
  const args = [AGENT_MAIN, '--data', dataDir, ...(host ? ['--host', host] : [])];
  const spawnStandby = (): ChildProcess =>
    spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, SLIPWAY_AGENT_STANDBY: '1' } });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      active?.kill('SIGTERM');
      standby?.kill('SIGTERM');
    });
  }
  let delay = 200;
  standby = spawnStandby();
  for (;;) {
    const started = Date.now();
    active = standby;
    standby = undefined;
    const code = await new Promise<number | null>((resolve) => {
      active?.once('exit', (exitCode, signal) => resolve(signal ? null : exitCode));
      active?.once('error', () => resolve(1));
      active?.send('start');
      // its successor loads while it runs
      standby = spawnStandby();
    });
    if (stopping || code === EXIT_STOPPED || code === EXIT_LOCK_HELD) {
      (standby as ChildProcess | undefined)?.kill('SIGTERM');
      return code ?? 0;
    }
    const lived = Date.now() - started;
    delay = lived > 30_000 ? 200 : Math.min(delay * 2, 3000);
    // Killed from outside (or the engine went away) after it got going: its successor is ready.
    // Dying young again and again is a crash loop: that waits longer each time.
    const after = lived > 1000 && (code === null || code === EXIT_ENGINE_LOST) ? 0 : delay;
    process.stderr.write(`${new Date().toISOString()} deploy agent ${code === null ? 'was killed' : `exited with code ${code}`}; starting it again${after ? ` in ${after} ms` : ''}\n`);
    if (after > 0) await new Promise((resolve) => setTimeout(resolve, after));
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runAgent(process.argv.slice(2)).then((code) => process.exit(code));
}
