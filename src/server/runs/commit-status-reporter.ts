// Tells the forge a webhook came from how its run is going (pending, then passed or failed), when
// the project has a commit status token; a report that fails is logged, never fails the run.
import type { Project, Run, Store } from '../../store/types.js';
import { reportCommitStatus, type CommitState } from '../commit-status.js';
import type { PipelineSnapshot } from './pipeline-snapshot.js';

/** `check`: another check than the run's own (a preview's, with its URL as the link) */
export type ReportCommitStatus = (state: CommitState, description: string, check?: { context: string; targetUrl: string }) => Promise<void>;

export interface CommitStatusReporterOptions {
  store: Store;
  /** this server's URL, for the status's link back to the run */
  publicUrl?: string;
  log: (message: string) => void;
}

/** Reports this run's state to the forge its webhook came from, when the project asks for it. */
export async function commitStatusReporter(
  options: CommitStatusReporterOptions,
  project: Pick<Project, 'id' | 'commitStatus'>,
  snapshot: PipelineSnapshot,
  run: Run,
): Promise<ReportCommitStatus> {
  const settings = project.commitStatus;
  const token = settings && snapshot.repository ? await options.store.getCommitStatusToken(project.id) : undefined;
  if (!settings || !snapshot.repository || !token || (snapshot.provider && snapshot.provider !== settings.provider)) return async () => undefined;
  const target = { provider: settings.provider, token, repository: snapshot.repository, ...(settings.apiUrl ? { apiUrl: settings.apiUrl } : {}) };
  const targetUrl = options.publicUrl ? `${options.publicUrl}/api/runs/${run.id}` : undefined;
  // a pull request run reports on its head commit under the same context as a push would (one
  // required check for branch protection); the description tells which run it is
  const pr = run.trigger.pullRequest;
  const prefix = pr ? `Slipway (pull request #${pr.number})` : 'Slipway';
  return async (state, description, check) => {
    try {
      const link = check?.targetUrl ?? targetUrl;
      await reportCommitStatus(target, { commit: run.trigger.commit, state, description: `${prefix}: ${description}`, ...(link ? { targetUrl: link } : {}), ...(check ? { context: check.context } : {}) });
    } catch (err) {
      options.log(`run ${run.id}: commit status not reported: ${(err as Error).message}`);
    }
  };
}
