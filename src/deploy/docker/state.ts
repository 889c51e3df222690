// The agent's persisted state: which environments it serves, on which proxy port, with which
// current revision, and which rollout (if any) was under way. Written through a temporary file and
// a rename, so a SIGKILL leaves either the old or the new state, never half of one.
//
//   <dataDir>/agent-state.json
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeploySpec } from '../../spec/model.js';

/** A deploy block with its image rendered: what one revision's replicas are started from. */
export type RolloutConfig = Omit<DeploySpec, 'image' | 'kubernetes' | 'target'> & { image: string };

export interface RevisionRef {
  number: number;
  config: RolloutConfig;
}

export interface EnvironmentState {
  app: string;
  environment: string;
  /** the proxy's port on the host; chosen once and kept when the deploy block names none */
  port: number;
  /** the revision the environment serves and restores on self-healing and recovery */
  current?: RevisionRef;
  /** a rollout that was under way; found here after a restart, it was interrupted */
  rollout?: RevisionRef;
}

export interface AgentState {
  version: 1;
  environments: EnvironmentState[];
}

export function stateFile(dataDir: string): string {
  return path.join(dataDir, 'agent-state.json');
}

export async function readState(dataDir: string): Promise<AgentState> {
  try {
    const parsed = JSON.parse(await readFile(stateFile(dataDir), 'utf8')) as AgentState;
    return { version: 1, environments: parsed.environments ?? [] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, environments: [] };
    throw err;
  }
}

export async function writeState(dataDir: string, state: AgentState): Promise<void> {
  const file = stateFile(dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(state, null, 2));
  await rename(temp, file);
}
