// Labels on the replica containers of the docker deploy target. Replicas are long-lived, so they
// carry none of the run labels (io.slipway.owner would make the run reaper remove them); instead
// they name the agent (by its data directory) that owns them, so agents of different data
// directories (tests, several users) never adopt each other's containers.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LABEL_AGENT = 'io.slipway.deploy.agent';
export const LABEL_APP = 'io.slipway.deploy.app';
export const LABEL_ENVIRONMENT = 'io.slipway.deploy.environment';
export const LABEL_REVISION = 'io.slipway.deploy.revision';

/** The file that keeps an agent's id when its data directory moved (see agentId). */
export const AGENT_ID_FILE = 'agent-id';

/**
 * A short stable id of the agent owning a data directory: a hash of its path, or the id kept in
 * DATA/agent-id. A data directory that moved (the one-time move out of the cache directory)
 * keeps the id its replicas are labelled with there, so the agent adopts them instead of
 * starting a second set beside them.
 */
export function agentId(dataDir: string): string {
  try {
    const kept = readFileSync(path.join(dataDir, AGENT_ID_FILE), 'utf8').trim();
    if (/^[a-f0-9]{12}$/.test(kept)) return kept;
  } catch {
    // none kept: the directory is where its agent first ran
  }
  return pathAgentId(dataDir);
}

/** The id an agent of `dataDir` had before any move: a hash of the path. */
export function pathAgentId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
}

export function replicaLabels(agent: string, app: string, environment: string, revision: number): Record<string, string> {
  return { [LABEL_AGENT]: agent, [LABEL_APP]: app, [LABEL_ENVIRONMENT]: environment, [LABEL_REVISION]: String(revision) };
}
