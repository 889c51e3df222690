// What a pull request run may hold. Its code is the pull request's, not the project's: a fork's
// author is anyone, so a fork's run gets no secrets, deploys nowhere and pushes no image to the
// server's registry (as GitHub treats forks); a project may keep secrets from same-repository
// pull requests too (`pullRequestSecrets: never`).
import type { Project, Run } from '../../store/types.js';

export interface RunTrust {
  /** why the run gets no secrets; undefined: it gets the secrets its file names */
  secretsWithheld?: string;
  /** why deploy jobs and image pushes are off; undefined: they are on */
  releaseWithheld?: string;
}

export function runTrust(run: Pick<Run, 'trigger'>, project: Pick<Project, 'pullRequestSecrets'>): RunTrust {
  if (run.trigger.event !== 'pull_request') return {};
  const pr = run.trigger.pullRequest;
  // a pull request run that does not say whose it is is trusted as little as a fork's
  if (!pr || pr.fork) {
    const why = `pull request${pr ? ` #${pr.number}` : ''} comes from a fork: its code is not the project's`;
    return { secretsWithheld: why, releaseWithheld: why };
  }
  if (project.pullRequestSecrets === 'never') return { secretsWithheld: `the project gives pull requests no secrets (pullRequestSecrets: never)` };
  return {};
}

/** The run's log line that says what was withheld and why, or undefined when nothing was. */
export function trustNotice(trust: RunTrust): string | undefined {
  const parts: string[] = [];
  if (trust.secretsWithheld) parts.push(`no secrets are passed (${trust.secretsWithheld})`);
  if (trust.releaseWithheld) parts.push('deploy jobs are skipped and built images stay on this host (not pushed to the registry)');
  return parts.length > 0 ? `slipway: ${parts.join('; ')}` : undefined;
}
