// Labels on the replica containers of the docker deploy target. Replicas are long-lived, so they
// carry none of the run labels (io.slipway.owner would make the run reaper remove them); instead
// they name the agent (by its data directory) that owns them, so agents of different data
// directories (tests, several users) never adopt each other's containers.
import { createHash } from 'node:crypto';
import path from 'node:path';

export const LABEL_AGENT = 'io.slipway.deploy.agent';
export const LABEL_APP = 'io.slipway.deploy.app';
export const LABEL_ENVIRONMENT = 'io.slipway.deploy.environment';
export const LABEL_REVISION = 'io.slipway.deploy.revision';

/** A short stable id of the agent owning a data directory. */
export function agentId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
}

export function replicaLabels(agent: string, app: string, environment: string, revision: number): Record<string, string> {
  return { [LABEL_AGENT]: agent, [LABEL_APP]: app, [LABEL_ENVIRONMENT]: environment, [LABEL_REVISION]: String(revision) };
}
