// Settings › a project: its secrets (names only: a value goes in and never comes back) and its
// webhook (a new secret and the exact URL to paste into GitHub, Gitea/Forgejo or GitLab), and
// where run states are reported (commit-status.tsx).
import { useEffect, useState } from 'preact/hooks';
import { Fragment, type JSX } from 'preact';
import { api, describeError } from '../../api.js';
import { usePolled } from '../../live.js';
import { ErrorNote } from '../../components/status.js';
import type { Project } from '../../../../src/api/index.js';
import { CopyField } from '../../components/copy-field.js';
import { CommitStatus } from './commit-status.js';

const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;

function Secrets({ project }: { project: string }): JSX.Element {
  const { value, error, reload } = usePolled(() => api.call('listSecrets', { params: { name: project } }), [project], 5000);
  const [name, setName] = useState('');
  const [secretValue, setSecretValue] = useState('');
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setName('');
    setSecretValue('');
    setMessage(undefined);
    setFailure(undefined);
  }, [project]);
  const names = value?.names ?? [];
  const trimmed = name.trim();
  const replacing = names.includes(trimmed);
  const nameProblem = trimmed !== '' && !SECRET_NAME.test(trimmed) ? 'upper-case letters, digits and _, not starting with a digit (e.g. API_TOKEN)' : undefined;
  const remove = async (secret: string): Promise<void> => {
    if (!confirm(`Delete the secret ${secret} of ${project}? Runs that use it will no longer get it.`)) return;
    setFailure(undefined);
    try {
      await api.call('deleteSecret', { params: { name: project, secret } });
      setMessage(`Secret ${secret} deleted.`);
    } catch (err) {
      setFailure(describeError(err));
    }
    reload();
  };
  return (
    <section aria-labelledby="secrets-title">
      <h3 id="secrets-title">Secrets of {project}</h3>
      <p class="hint">Only the names are shown: a value is encrypted on the server and never comes back to this page.</p>
      <ErrorNote error={error} />
      {value ? (
        names.length === 0 ? (
          <p>No secret yet.</p>
        ) : (
          <ul class="secret-names" aria-label={`secrets of ${project}`}>
            {names.map((n) => (
              <li key={n}>
                <code>{n}</code>
                <span class="actions">
                  <button
                    type="button"
                    aria-label={`Replace ${n}`}
                    onClick={() => {
                      setName(n);
                      setSecretValue('');
                      document.getElementById('secret-value')?.focus();
                    }}
                  >
                    Replace
                  </button>
                  <button type="button" aria-label={`Delete ${n}`} onClick={() => void remove(n)}>
                    Delete
                  </button>
                </span>
              </li>
            ))}
          </ul>
        )
      ) : error ? null : (
        <p class="loading">Loading the secrets…</p>
      )}
      <form
        class="panel"
        aria-label={`set a secret of ${project}`}
        onSubmit={async (e) => {
          e.preventDefault();
          if (nameProblem || trimmed === '') return;
          if (replacing && !confirm(`Replace the value of ${trimmed} in ${project}? The old value is gone for good.`)) return;
          setBusy(true);
          setFailure(undefined);
          try {
            await api.call('setSecret', { params: { name: project, secret: trimmed }, body: { value: secretValue } });
            setMessage(`Secret ${trimmed} ${replacing ? 'replaced' : 'set'}; its value is not shown again.`);
            setName('');
            setSecretValue('');
          } catch (err) {
            setFailure(describeError(err));
          } finally {
            setBusy(false);
          }
          reload();
        }}
      >
        <div class="field">
          <label for="secret-name">Name</label>
          <input
            id="secret-name"
            type="text"
            required
            maxLength={200}
            autoComplete="off"
            spellcheck={false}
            placeholder="API_TOKEN"
            aria-describedby="secret-name-hint"
            aria-invalid={nameProblem ? true : undefined}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
          <span class="hint" id="secret-name-hint">
            {nameProblem ?? (replacing ? `${trimmed} exists: saving replaces its value` : 'upper-case letters, digits and _')}
          </span>
        </div>
        <div class="field">
          <label for="secret-value">Value</label>
          <input id="secret-value" type="password" autoComplete="new-password" spellcheck={false} value={secretValue} onInput={(e) => setSecretValue((e.target as HTMLInputElement).value)} />
        </div>
        <div class="actions">
          <button type="submit" disabled={busy || trimmed === '' || nameProblem !== undefined}>
            {busy ? 'Saving…' : replacing ? 'Replace secret' : 'Set secret'}
          </button>
        </div>
      </form>
      {message ? <p role="status">{message}</p> : null}
      <ErrorNote error={failure} />
    </section>
  );
}

const PROVIDERS = [
  { id: 'github', title: 'GitHub', where: 'Settings → Webhooks → Add webhook', urlLabel: 'Payload URL', secretLabel: 'Secret', fields: [['Content type', 'application/json'], ['Events', 'Just the push event']] },
  { id: 'gitea', title: 'Gitea or Forgejo', where: 'Settings → Webhooks → Add webhook → Gitea (or Forgejo)', urlLabel: 'Target URL', secretLabel: 'Secret', fields: [['HTTP method', 'POST'], ['Content type', 'application/json'], ['Trigger on', 'Push events']] },
  { id: 'gitlab', title: 'GitLab', where: 'Settings → Webhooks → Add new webhook', urlLabel: 'URL', secretLabel: 'Secret token', fields: [['Trigger', 'Push events, Tag push events']] },
] as const;

/** 32 random bytes as hex: no character a forge's form could mangle (as `slipway webhook` makes). */
function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function Webhook({ project, hasSecret, onChanged }: { project: string; hasSecret: boolean; onChanged: () => void }): JSX.Element {
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setSecret(undefined);
    setFailure(undefined);
  }, [project]);
  const rotate = async (): Promise<void> => {
    if (hasSecret && !confirm(`Set a new webhook secret for ${project}? The current one stops working at once: deliveries signed with it are refused until the forge has the new one.`)) return;
    setBusy(true);
    setFailure(undefined);
    const next = newWebhookSecret();
    try {
      await api.call('setWebhookSecret', { params: { name: project }, body: { secret: next } });
      setSecret(next);
      onChanged();
    } catch (err) {
      setFailure(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="webhook-title">
      <h3 id="webhook-title">Webhook of {project}</h3>
      <p>
        {hasSecret || secret ? 'A webhook secret is set: deliveries must be signed with it.' : 'No webhook secret yet: set one before adding the webhook to the forge.'}
      </p>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void rotate()}>
          {busy ? 'Setting…' : 'Set a new webhook secret'}
        </button>
      </div>
      <ErrorNote error={failure} />
      {secret ? (
        <div class="once">
          <CopyField id="webhook-secret" label={`New webhook secret of ${project}`} value={secret} />
          <p class="once-note">
            <strong>Shown once.</strong> Paste it into the forge's webhook now; the previous secret no longer works. To see a secret again, set a new one.
          </p>
          <button type="button" onClick={() => setSecret(undefined)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <div class="hooks">
        {PROVIDERS.map((p) => {
          const url = `${location.origin}/hooks/${p.id}/${encodeURIComponent(project)}`;
          return (
            <article key={p.id} class="hook" aria-labelledby={`hook-${p.id}`}>
              <h4 id={`hook-${p.id}`}>{p.title}</h4>
              <p class="hint">{p.where}</p>
              <CopyField id={`hook-url-${p.id}`} label={`${p.urlLabel} (${p.title})`} value={url} />
              <dl>
                {p.fields.map(([k, v]) => (
                  <Fragment key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </Fragment>
                ))}
                <dt>{p.secretLabel}</dt>
                <dd>{secret ? 'the secret above' : 'set a new webhook secret to see one'}</dd>
              </dl>
            </article>
          );
        })}
      </div>
    </section>
  );
}

export function ProjectSettings(): JSX.Element {
  const { value, error, reload } = usePolled(() => api.call('listProjects'), [], 10000);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const projects: Project[] = value?.projects ?? [];
  const project = projects.find((p) => p.name === chosen) ?? projects[0];
  return (
    <section aria-labelledby="projects-title">
      <h2 id="projects-title">Project secrets, webhook and commit status</h2>
      <ErrorNote error={error} />
      {value && projects.length === 0 ? (
        <p>
          No project yet: <code>git push http://any:TOKEN@HOST/git/NAME.git main</code> or <code>slipway project create NAME</code> makes one.
        </p>
      ) : null}
      {project ? (
        <>
          <div class="filters">
            <div class="pick">
              <label for="settings-project">Project</label>
              <select id="settings-project" value={project.name} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
                {projects.map((p) => (
                  <option key={p.id} value={p.name}>
                    {p.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <Secrets project={project.name} />
          <Webhook project={project.name} hasSecret={project.hasWebhookSecret} onChanged={reload} />
          <CommitStatus project={project} onChanged={reload} />
        </>
      ) : !value && !error ? (
        <p class="loading">Loading the projects…</p>
      ) : null}
    </section>
  );
}

