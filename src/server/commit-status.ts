// Commit status back to the forge a webhook came from (GitHub, Gitea/Forgejo, GitLab), so the
// commit shows pending, then success or failure with a link to the run. Reporting never fails a run.
export type CommitState = 'pending' | 'success' | 'failure';

export interface CommitStatusTarget {
  provider: 'github' | 'gitea' | 'gitlab';
  /** the API base; GitHub's default is https://api.github.com, Gitea and GitLab need theirs */
  apiUrl?: string;
  token: string;
  /** owner/name (GitLab: the project's full path) */
  repository: string;
}

export interface CommitStatus {
  commit: string;
  state: CommitState;
  description: string;
  targetUrl?: string;
}

function base(target: CommitStatusTarget): string {
  if (target.apiUrl) return target.apiUrl.replace(/\/+$/, '');
  if (target.provider === 'github') return 'https://api.github.com';
  throw new Error(`${target.provider} commit status needs the API URL of the server`);
}

/** The request each forge documents for creating a commit status. */
export function commitStatusRequest(target: CommitStatusTarget, status: CommitStatus): { url: string; init: RequestInit } {
  const api = base(target);
  const description = status.description.slice(0, 140);
  if (target.provider === 'gitlab') {
    const state = status.state === 'pending' ? 'running' : status.state === 'success' ? 'success' : 'failed';
    const query = new URLSearchParams({ state, name: 'slipway', description, ...(status.targetUrl ? { target_url: status.targetUrl } : {}) });
    return {
      url: `${api}/api/v4/projects/${encodeURIComponent(target.repository)}/statuses/${status.commit}?${query.toString()}`,
      init: { method: 'POST', headers: { 'PRIVATE-TOKEN': target.token } },
    };
  }
  const body = JSON.stringify({ state: status.state, description, context: 'slipway', ...(status.targetUrl ? { target_url: status.targetUrl } : {}) });
  const [owner, name] = target.repository.split('/');
  const path = `/repos/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/statuses/${status.commit}`;
  return target.provider === 'github'
    ? { url: `${api}${path}`, init: { method: 'POST', body, headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/vnd.github+json', 'Content-Type': 'application/json' } } }
    : { url: `${api}/api/v1${path}`, init: { method: 'POST', body, headers: { Authorization: `token ${target.token}`, 'Content-Type': 'application/json' } } };
}

export async function reportCommitStatus(target: CommitStatusTarget, status: CommitStatus): Promise<void> {
  const { url, init } = commitStatusRequest(target, status);
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${target.provider} answered ${res.status} to the commit status for ${status.commit.slice(0, 7)}: ${(await res.text()).slice(0, 200)}`);
}
