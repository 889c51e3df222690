// Settings › a project's commit status: which forge each run's state is reported to (the check
// on a commit or pull request), with the token it reports with — written, never shown again.
import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { ErrorNote } from '../../components/status.js';
import { api, describeError } from '../../api.js';
import type { Project } from '../../../../src/api/index.js';

type Provider = 'github' | 'gitea' | 'gitlab';

const PROVIDERS: Array<{ id: Provider; title: string; apiHint: string; tokenHint: string }> = [
  { id: 'github', title: 'GitHub', apiHint: 'empty for github.com; https://HOST/api/v3 for GitHub Enterprise', tokenHint: 'a fine-grained token with "Commit statuses: write"' },
  { id: 'gitea', title: 'Gitea / Forgejo', apiHint: 'the server, e.g. https://git.example.com', tokenHint: 'an access token with the repository scope (write)' },
  { id: 'gitlab', title: 'GitLab', apiHint: 'the server, e.g. https://gitlab.example.com', tokenHint: 'a project access token with the api scope' },
];

export function CommitStatus({ project, onChanged }: { project: Project; onChanged: () => void }): JSX.Element {
  const current = project.commitStatus;
  const [provider, setProvider] = useState<Provider>(current?.provider ?? 'github');
  const [apiUrl, setApiUrl] = useState(current?.apiUrl ?? '');
  const [token, setToken] = useState('');
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setProvider(current?.provider ?? 'github');
    setApiUrl(current?.apiUrl ?? '');
    setToken('');
    setMessage(undefined);
    setFailure(undefined);
  }, [project.name]);
  const chosen = PROVIDERS.find((p) => p.id === provider) ?? PROVIDERS[0]!;
  const missing = token.trim() === '' ? 'the token' : provider !== 'github' && apiUrl.trim() === '' ? 'the API URL' : undefined;
  const act = async (work: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(true);
    setFailure(undefined);
    setMessage(undefined);
    try {
      await work();
      setToken('');
      setMessage(done);
      onChanged();
    } catch (err) {
      setFailure(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const save = (): Promise<void> =>
    act(
      () => api.call('setCommitStatus', { params: { name: project.name }, body: { provider, token: token.trim(), ...(apiUrl.trim() ? { apiUrl: apiUrl.trim() } : {}) } }),
      `Runs of ${project.name} now report their state to ${chosen.title}.`,
    );
  const turnOff = (): void => {
    if (!confirm(`Stop reporting the runs of ${project.name} to ${current?.provider ?? 'the forge'}? The stored token is deleted.`)) return;
    void act(() => api.call('setCommitStatus', { params: { name: project.name }, body: { provider: null } }), `Runs of ${project.name} no longer report their state.`);
  };
  return (
    <section aria-labelledby="commit-status-title">
      <h3 id="commit-status-title">Commit status of {project.name}</h3>
      <p>
        {current
          ? `Each run's state is reported to ${current.provider}${current.apiUrl ? ` at ${current.apiUrl}` : ''} with a stored token (never shown). Saving replaces it.`
          : 'Off: runs are not reported to a forge. Set a provider and token to show each run as a check on its commit.'}
      </p>
      <form
        class="panel"
        aria-label={`report the runs of ${project.name} to a forge`}
        onSubmit={(e) => {
          e.preventDefault();
          if (!missing) void save();
        }}
      >
        <div class="field">
          <label for="cs-provider">Forge</label>
          <select id="cs-provider" value={provider} onChange={(e) => setProvider((e.target as HTMLSelectElement).value as Provider)}>
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.title}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="cs-api">API URL</label>
          <input id="cs-api" type="url" value={apiUrl} aria-describedby="cs-api-hint" onInput={(e) => setApiUrl((e.target as HTMLInputElement).value)} />
          <span id="cs-api-hint" class="hint">
            {chosen.apiHint}
          </span>
        </div>
        <div class="field">
          <label for="cs-token">Token</label>
          <input id="cs-token" type="password" autocomplete="off" value={token} aria-describedby="cs-token-hint" onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
          <span id="cs-token-hint" class="hint">
            {chosen.tokenHint}; stored encrypted, never shown again
          </span>
        </div>
        <div class="actions">
          <button type="submit" disabled={busy || missing !== undefined} title={missing ? `needs ${missing}` : undefined}>
            {busy ? 'Saving…' : current ? 'Replace' : 'Turn on'}
          </button>
          {current ? (
            <button type="button" disabled={busy} onClick={turnOff}>
              Turn off
            </button>
          ) : null}
        </div>
      </form>
      {message ? <p role="status">{message}</p> : null}
      <ErrorNote error={failure} />
    </section>
  );
}
