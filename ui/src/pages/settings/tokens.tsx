// Settings › API tokens: the list, a new token (its secret shown once) and revoking one.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, describeError } from '../../api.js';
import { usePolled } from '../../live.js';
import { ago, when } from '../../format.js';
import { ErrorNote } from '../../components/status.js';
import type { CreatedToken, TokenInfo } from '../../../../src/api/index.js';
import { CopyField } from '../../components/copy-field.js';

const BASE_SCOPES = [
  { scope: 'read', what: 'see projects, runs, logs, environments' },
  { scope: 'run', what: 'start, cancel, re-run and approve runs' },
  { scope: 'deploy', what: 'deploy, roll back and promote to any environment' },
  { scope: 'admin', what: 'everything, these settings included' },
] as const;

const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function scopesOf(checked: Set<string>, environments: string): { scopes: string[]; problem?: string } {
  const envs = environments
    .split(/[\s,]+/)
    .map((e) => e.trim().replace(/^deploy:/, ''))
    .filter((e) => e !== '');
  const bad = envs.find((e) => !ENVIRONMENT_NAME.test(e));
  const scopes = [...BASE_SCOPES.map((s) => s.scope).filter((s) => checked.has(s)), ...new Set(envs.map((e) => `deploy:${e}`))];
  return bad ? { scopes, problem: `"${bad}" is not an environment name (letters, digits, _ . -; starting with a letter or digit)` } : { scopes };
}

function NewToken({ onCreated }: { onCreated: (t: CreatedToken) => void }): JSX.Element {
  const [name, setName] = useState('');
  const [checked, setChecked] = useState<Set<string>>(new Set(['read']));
  const [environments, setEnvironments] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const { scopes, problem } = scopesOf(checked, environments);
  const toggle = (scope: string, on: boolean): void => {
    const next = new Set(checked);
    if (on) next.add(scope);
    else next.delete(scope);
    setChecked(next);
  };
  return (
    <form
      class="panel"
      aria-labelledby="new-token-title"
      onSubmit={async (e) => {
        e.preventDefault();
        if (problem || scopes.length === 0) return;
        setBusy(true);
        setError(undefined);
        try {
          const created = await api.call('createToken', { body: { name: name.trim(), scopes: scopes as CreatedToken['scopes'] } });
          setName('');
          setEnvironments('');
          setChecked(new Set(['read']));
          onCreated(created);
        } catch (err) {
          setError(describeError(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="new-token-title">New token</h3>
      <div class="field">
        <label for="token-name">Name</label>
        <input id="token-name" type="text" required maxLength={100} autoComplete="off" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <span class="hint">what or who uses it, e.g. ci-laptop or deploy-bot</span>
      </div>
      <fieldset class="scopes-pick">
        <legend>Scopes</legend>
        {BASE_SCOPES.map(({ scope, what }) => (
          <label key={scope} class="check">
            <input type="checkbox" checked={checked.has(scope)} onChange={(e) => toggle(scope, (e.target as HTMLInputElement).checked)} /> <code>{scope}</code>{' '}
            <span class="hint">{what}</span>
          </label>
        ))}
        <div class="field">
          <label for="token-envs">
            <code>deploy:ENV</code> — deploy to these environments only
          </label>
          <input id="token-envs" type="text" autoComplete="off" placeholder="e.g. staging, preview" aria-describedby="token-envs-hint" value={environments} onInput={(e) => setEnvironments((e.target as HTMLInputElement).value)} />
          <span class="hint" id="token-envs-hint">
            environment names, separated by commas or spaces
          </span>
        </div>
      </fieldset>
      <p class="hint">
        Scopes: {scopes.length > 0 ? scopes.join(', ') : 'none — pick at least one'}
      </p>
      <ErrorNote error={problem} />
      <div class="actions">
        <button type="submit" disabled={busy || name.trim() === '' || scopes.length === 0 || problem !== undefined}>
          {busy ? 'Creating…' : 'Create token'}
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function CreatedSecret({ token, onDone }: { token: CreatedToken; onDone: () => void }): JSX.Element {
  return (
    <section class="once" aria-labelledby="created-token-title">
      <h3 id="created-token-title">Token {token.name} created</h3>
      <CopyField id="created-token-secret" label={`Secret of ${token.name}`} value={token.secret} />
      <p class="once-note">
        <strong>Shown once.</strong> Copy it now: the server keeps only its hash, and this page will not show it again. Use it as{' '}
        <code>SLIPWAY_TOKEN</code> for the CLI or <code>Authorization: Bearer …</code>.
      </p>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

export function Tokens(): JSX.Element {
  const { value, error, reload } = usePolled(() => api.call('listTokens'), [], 5000);
  const [created, setCreated] = useState<CreatedToken | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const revoke = async (t: TokenInfo): Promise<void> => {
    if (!confirm(`Revoke the token "${t.name}" (${t.prefix}…, ${t.scopes.join(', ')})? Everything that uses it is refused from now on; this cannot be undone.`)) return;
    try {
      await api.call('revokeToken', { params: { id: t.id } });
      setMessage(`Token ${t.name} (${t.prefix}…) revoked.`);
    } catch (err) {
      setMessage(describeError(err));
    }
    reload();
  };
  const tokens = value ? [...value.tokens].sort((a, b) => Number(a.revokedAtMs !== undefined) - Number(b.revokedAtMs !== undefined) || b.createdAtMs - a.createdAtMs) : undefined;
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      {created ? (
        <CreatedSecret token={created} onDone={() => setCreated(undefined)} />
      ) : (
        <NewToken
          onCreated={(t) => {
            setCreated(t);
            setMessage(undefined);
            reload();
          }}
        />
      )}
      {message ? <p role="status">{message}</p> : null}
      <ErrorNote error={error} />
      {tokens ? (
        <table class="list tokens">
          <caption class="sr-only">Every API token</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoked</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id} class={t.revokedAtMs !== undefined ? 'revoked' : undefined}>
                <th scope="row">{t.name}</th>
                <td data-label="scopes">{t.scopes.join(', ')}</td>
                <td data-label="prefix">
                  <code>{t.prefix}…</code>
                </td>
                <td data-label="created" title={when(t.createdAtMs)}>{ago(t.createdAtMs)}</td>
                <td data-label="last used" title={t.lastUsedAtMs !== undefined ? when(t.lastUsedAtMs) : undefined}>{t.lastUsedAtMs !== undefined ? ago(t.lastUsedAtMs) : 'never'}</td>
                <td data-label="revoked">{t.revokedAtMs !== undefined ? <span class="badge s-failure">revoked {ago(t.revokedAtMs)}</span> : 'no'}</td>
                <td>
                  {t.revokedAtMs === undefined ? (
                    <button type="button" aria-label={`Revoke ${t.name} (${t.prefix}…)`} onClick={() => void revoke(t)}>
                      Revoke
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : error ? null : (
        <p class="loading">Loading the tokens…</p>
      )}
    </section>
  );
}

