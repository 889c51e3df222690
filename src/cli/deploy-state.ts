// Where this machine's deploy state lives — the agent's environments, their revision history, its
// socket and log: state, which a user expects to survive clearing caches, so under
// $XDG_STATE_HOME/slipway (default ~/.local/state/slipway), not the cache directory.
//
//   --data DIR                      that directory, as given
//   $SLIPWAY_STATE_DIR/deploy       the one variable that moves it
//   $SLIPWAY_HOME/deploy            when SLIPWAY_HOME is set (and SLIPWAY_STATE_DIR is not): a
//                                   home set on purpose keeps everything Slipway keeps, as before
//   $XDG_STATE_HOME/slipway/deploy  otherwise (XDG_STATE_HOME default ~/.local/state)
//
// Releases before kept it in the cache directory ($XDG_CACHE_HOME/slipway/deploy): the first
// command that finds it there moves it here, once.
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { slipwayHome } from '../engine/index.js';
import { AgentClient, agentId } from '../deploy/docker/index.js';
import { AGENT_ID_FILE } from '../deploy/docker/labels.js';
import type { CliIO } from './io.js';

/** The default deploy data directory for this environment (without the one-time move). */
export function deployStateDir(env: NodeJS.ProcessEnv): string {
  if (env.SLIPWAY_STATE_DIR) return path.join(env.SLIPWAY_STATE_DIR, 'deploy');
  if (env.SLIPWAY_HOME) return path.join(env.SLIPWAY_HOME, 'deploy');
  // the XDG spec: a relative value is invalid and ignored
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(xdg, 'slipway', 'deploy');
}

/** Where releases before this one kept the deploy state: under the cache directory. */
export function legacyDeployDir(env: NodeJS.ProcessEnv): string {
  return path.join(slipwayHome(env), 'deploy');
}

/**
 * The deploy data directory a command works in: `--data`, else the default — after moving the
 * state there from the old cache location, the first time one finds it there.
 */
export async function openDeployDataDir(flag: string | undefined, io: Pick<CliIO, 'env' | 'cwd' | 'stderr'>): Promise<string> {
  if (flag !== undefined) return path.resolve(io.cwd, flag);
  const dir = path.resolve(io.cwd, deployStateDir(io.env));
  await moveLegacyDeployState(path.resolve(io.cwd, legacyDeployDir(io.env)), dir, io.stderr);
  return dir;
}

/** Whether `dir` holds deploy state: the agent's environments or a revision history. */
function holdsDeployState(dir: string): boolean {
  return existsSync(path.join(dir, 'agent-state.json')) || existsSync(path.join(dir, 'deploy'));
}

/**
 * Moves the old deploy data directory to `to` when it holds state and `to` does not exist yet.
 * Its agent is stopped first (its replicas keep running) and started again from the new place;
 * the agent keeps its id there (DATA/agent-id), so it adopts its replicas rather than starting
 * new ones. When the move fails, the old directory stays as it was, its agent is started again
 * there, and the command fails saying so.
 */
export async function moveLegacyDeployState(from: string, to: string, stderr: NodeJS.WritableStream): Promise<void> {
  if (from === to || !holdsDeployState(from)) return;
  if (existsSync(to)) {
    // both: never merged by guess; said every time, since environments there are not served from here
    stderr.write(`slipway: ${from} still holds deploy state from an earlier release, which is not used: ${to} is the deploy data directory now. Use it with --data ${from}, or stop its agent and move what you need\n`);
    return;
  }
  const id = agentId(from);
  const client = new AgentClient(from);
  const wasRunning = (await client.ping()) !== undefined;
  if (wasRunning) await client.shutdown(false);
  // what belongs to the stopped process, not to the state
  await rm(path.join(from, 'agent.sock'), { force: true });
  await rm(path.join(from, 'agent.lock'), { force: true });
  await mkdir(path.dirname(to), { recursive: true });
  try {
    await moveDirectory(from, to);
  } catch (err) {
    // another slipway command moved it at the same moment: it is there now
    if (existsSync(to) && !existsSync(from)) return;
    if (wasRunning) await client.ensureRunning().catch(() => undefined);
    throw new Error(`could not move the deploy state from ${from} to ${to}: ${(err as Error).message}; it stays where it was (use it with --data ${from})`);
  }
  await writeFile(path.join(to, AGENT_ID_FILE), `${id}\n`);
  stderr.write(
    `slipway: moved the deploy state (environments, revision history, agent) from ${from} to ${to}, ` +
      `out of the cache directory, which may be cleared (SLIPWAY_STATE_DIR moves it)\n`,
  );
  if (wasRunning) await new AgentClient(to).ensureRunning();
}

/** rename(2), or a copy and a removal across file systems (a cache on another disk). */
async function moveDirectory(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const staging = `${to}.moving-${process.pid}`;
    await cp(from, staging, { recursive: true, errorOnExist: true });
    await rename(staging, to);
    await rm(from, { recursive: true, force: true });
  }
}
