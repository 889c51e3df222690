// Every app × environment: the revision it serves, its replicas' health, its endpoint, and its
// history — automatic rollbacks stand out and say why. Rollback and promote ask for confirmation,
// naming what will change.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, describeError } from '../api.js';
import { usePolled } from '../live.js';
import { when } from '../format.js';
import { denied, type Session } from '../session.js';
import { ErrorNote, StatusBadge } from '../components/status.js';
import type { EnvironmentStatus, Revision } from '../../../src/api/index.js';

function History({ app, env }: { app: string; env: string }): JSX.Element {
  const { value, error } = usePolled(() => api.call('environmentRevisions', { params: { app, env } }), [app, env], 3000);
  if (error) return <ErrorNote error={error} />;
  if (!value) return <p class="loading">Loading the history…</p>;
  const revisions: Revision[] = [...value.revisions].reverse();
  return (
    <ol class="timeline" aria-label={`revisions of ${app} in ${env}`}>
      {revisions.map((r) => (
        <li key={r.number} class={`rev o-${r.outcome}`}>
          <span class="rev-n">#{r.number}</span> <StatusBadge status={r.outcome} /> <code class="digest">{r.image}</code>
          <span class="rev-meta">
            {' '}
            {r.trigger.kind}
            {r.trigger.from ? ` from ${r.trigger.from.environment}#${r.trigger.from.revision}` : ''}
            {r.restoredFrom ? ` (restores #${r.restoredFrom})` : ''} by {r.trigger.by} · {when(Date.parse(r.createdAt))}
            {r.trigger.commit ? ` · ${r.trigger.commit.slice(0, 7)}` : ''}
          </span>
          {r.reason ? <pre class="why">{r.reason}</pre> : null}
        </li>
      ))}
    </ol>
  );
}

function EnvironmentCard({ env, all, session }: { env: EnvironmentStatus; all: EnvironmentStatus[]; session: Session }): JSX.Element {
  const [open, setOpen] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const reason = denied(session, { deployTo: env.environment });
  const healthy = env.replicas.desired > 0 && env.replicas.ready >= env.replicas.desired;
  const others = all.filter((e) => e.app === env.app && e.environment !== env.environment && e.current);
  const rollback = async (): Promise<void> => {
    if (!confirm(`Roll ${env.app}/${env.environment} back from revision ${env.current?.number ?? '?'} (${env.current?.image ?? ''}) to the previous healthy revision?`)) return;
    try {
      const rollout = await api.call('rollback', { params: { app: env.app, env: env.environment }, body: {} });
      setMessage(`rollback started (rollout ${rollout.id})`);
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  const promote = async (from: EnvironmentStatus): Promise<void> => {
    if (!confirm(`Roll ${from.current?.image ?? ''} (revision ${from.current?.number ?? '?'} of ${from.environment}) out to ${env.environment}, replacing revision ${env.current?.number ?? 'none'}?`)) return;
    try {
      const rollout = await api.call('promote', { params: { app: env.app }, body: { from: from.environment, to: env.environment } });
      setMessage(`promotion started (rollout ${rollout.id})`);
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  return (
    <article class="env" aria-label={`${env.app} in ${env.environment}`}>
      <h2>
        {env.app} <span class="env-name">{env.environment}</span> <span class={`badge ${healthy ? 's-success' : 's-failure'}`}>{healthy ? 'healthy' : env.replicas.ready > 0 ? 'degraded' : 'down'}</span>
      </h2>
      <dl>
        <dt>Revision</dt>
        <dd>{env.current ? `#${env.current.number} · ${env.current.trigger.kind} by ${env.current.trigger.by} · ${when(Date.parse(env.current.createdAt))}` : 'none'}</dd>
        <dt>Image</dt>
        <dd>
          <code class="digest">{env.current?.image ?? '–'}</code>
        </dd>
        <dt>Replicas</dt>
        <dd>
          {env.replicas.ready}/{env.replicas.desired} ready
        </dd>
        <dt>Endpoint</dt>
        <dd>{env.endpoint ? <a href={env.endpoint} rel="noreferrer">{env.endpoint}</a> : '–'}</dd>
        {env.message ? (
          <>
            <dt>Last</dt>
            <dd>{env.message}</dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        <button type="button" disabled={reason !== undefined} title={reason} onClick={() => void rollback()}>
          Roll back{reason ? <span class="why"> — {reason}</span> : null}
        </button>
        {others.map((from) => (
          <button type="button" key={from.environment} disabled={reason !== undefined} title={reason} onClick={() => void promote(from)}>
            Promote from {from.environment}
          </button>
        ))}
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide history' : 'History'}
        </button>
      </div>
      {message ? <p role="status">{message}</p> : null}
      {open ? <History app={env.app} env={env.environment} /> : null}
    </article>
  );
}

export function EnvironmentsPage({ session }: { session: Session }): JSX.Element {
  const { value, error } = usePolled(() => api.call('status', {}), [], 2000);
  return (
    <main>
      <h1>Environments</h1>
      <ErrorNote error={error} />
      {value && value.environments.length === 0 ? <p>Nothing is deployed yet.</p> : null}
      {value?.environments.map((env) => <EnvironmentCard key={`${env.app}/${env.environment}`} env={env} all={value.environments} session={session} />)}
    </main>
  );
}
