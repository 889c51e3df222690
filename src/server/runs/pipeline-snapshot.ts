// What the store keeps of a run's pipeline (Run.pipeline, stored as JSON and typed unknown there),
// and the one reader the server uses for it: it checks the shape instead of trusting a cast.
import type { CommitStatusProvider, Run } from '../../store/types.js';

/**
 * What the store keeps of a run's pipeline: the file as it was at the commit; or, for a webhook
 * run accepted before its commit was fetched, where to fetch it from.
 */
export interface PipelineSnapshot {
  file: string;
  text?: string;
  remote?: string;
  ref?: string;
  /** webhook push runs: the commit the ref was at before (for on.push.paths) */
  before?: string;
  /** webhook runs: the forge repository (owner/name) commit statuses are reported to */
  repository?: string;
  provider?: CommitStatusProvider;
}

const TEXT_FIELDS = ['text', 'remote', 'ref', 'repository', 'before'] as const;
const PROVIDERS: readonly CommitStatusProvider[] = ['github', 'gitea', 'gitlab'];

function isProvider(value: unknown): value is CommitStatusProvider {
  return PROVIDERS.some((provider) => provider === value);
}

/**
 * The run's pipeline snapshot, or undefined when what the store holds is not one. JSON has no
 * undefined, so a null field counts as absent, as it did for the code that read the fields.
 */
export function pipelineSnapshotOf(run: Pick<Run, 'pipeline'>): PipelineSnapshot | undefined {
  const stored = run.pipeline;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return undefined;
  const fields = stored as Record<string, unknown>;
  if (typeof fields.file !== 'string') return undefined;
  const snapshot: PipelineSnapshot = { file: fields.file };
  for (const key of TEXT_FIELDS) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return undefined;
    snapshot[key] = value;
  }
  if (fields.provider !== undefined && fields.provider !== null) {
    if (!isProvider(fields.provider)) return undefined;
    snapshot.provider = fields.provider;
  }
  return snapshot;
}
