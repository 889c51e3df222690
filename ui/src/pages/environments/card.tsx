// One app × environment: the revision it serves, each replica's state, its endpoint, the rollout
// under way (live), and the actions — roll back (to the previous or a chosen revision) and promote —
// each asking first, naming what will change.
import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, describeError } from '../../api.js';
import { navigate } from '../../router.js';
import { when } from '../../format.js';
import { denied, type Session } from '../../session.js';
import { StatusBadge } from '../../components/status.js';
import type { EnvironmentStatus, Revision } from '../../../../src/api/index.js';
import { History } from './history.js';
import { loadDiff, summarize } from './diff.js';
import { LiveRollout, OtherRollout } from './rollout.js';

function Replicas({ env }: { env: EnvironmentStatus }): JSX.Element | null {
  const list = env.replicaList ?? [];
  if (list.length === 0) return null;
  return (
    <table class="list replicas">
      <caption class="sr-only">
        Replicas of {env.app} in {env.environment}
      </caption>
      <thead>
        <tr>
          <th scope="col">Replica</th>
          <th scope="col">Revision</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {list.map((r) => (
          <tr key={r.name}>
            <th scope="row">
              <code>{r.name}</code>
            </th>
            <td>#{r.revision}</td>
            <td>
              <StatusBadge status={r.state} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const named = (r: Pick<Revision, 'number' | 'image'> | undefined): string => (r ? `revision ${r.number} (${r.image})` : 'no revision');

/** Kubernetes: the fields of the live objects that differ from the current revision (kubectl edit, scale, set env…). */
function Drift({ env }: { env: EnvironmentStatus }): JSX.Element | null {
  const drift = env.drift;
  if (!drift || (drift.fields.length === 0 && !drift.unchecked)) return null;
  if (drift.fields.length === 0) {
    return <p class="drift-unchecked">Drift not checked: {drift.unchecked}</p>;
  }
  return (
    <section class="drift" aria-label={`drift of ${env.app} in ${env.environment}`}>
      <h3>Drifted from revision {drift.revision}</h3>
      <ul>
        {drift.fields.map((f) => (
          <li key={`${f.object} ${f.path}`}>
            <code>{f.object}</code> {f.path ? f.message : f.message.slice(f.object.length + 2)}
          </li>
        ))}
      </ul>
    </section>
  );
}

interface CardProps {
  env: EnvironmentStatus;
  all: EnvironmentStatus[];
  session: Session;
  /** the status changed (a rollout started or ended): read it again */
  onChange: () => void;
  /** the address names this card's history: open it, comparing these revisions (two, or none) */
  linked?: number[];
}

export function EnvironmentCard({ env, all, session, onChange, linked }: CardProps): JSX.Element {
  const [open, setOpen] = useState(linked !== undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  // the API rollout shown live: the one under way, or one this page just started; kept after its end until dismissed
  const [followed, setFollowed] = useState<string | undefined>(env.rollout?.id);
  const runningId = env.rollout?.id;
  useEffect(() => {
    if (runningId) setFollowed(runningId);
  }, [runningId]);
  const reason = denied(session, { deployTo: env.environment });
  const healthy = env.replicas.desired > 0 && env.replicas.ready >= env.replicas.desired;
  const others = all.filter((e) => e.app === env.app && e.environment !== env.environment && e.current);
  const where = `${env.app}/${env.environment}`;
  // the address follows the history opened last and its comparison, so that it can be shared
  const remember = (history: boolean, picked: number[] = []): void => {
    const query = new URLSearchParams(history ? { history: where, ...(picked.length === 2 ? { compare: [...picked].sort((a, b) => a - b).join(',') } : {}) } : {});
    const text = query.toString();
    navigate(`/environments${text ? `?${text}` : ''}`, { replace: true });
  };

  const started = (what: string, id: string): void => {
    setMessage(`${what} started (rollout ${id})`);
    setFollowed(id);
    onChange();
  };
  const rollback = async (to?: Revision): Promise<void> => {
    let question = `Roll ${where} back from ${named(env.current)} to ${to ? named(to) : 'the previous healthy revision'}?`;
    if (to && env.current) {
      // the confirmation names what changes; without the diff it still names both revisions
      const diff = await loadDiff(env.app, env.environment, env.current.number, to.number).catch(() => undefined);
      if (diff) question += `\n\n${summarize(diff)}`;
    }
    if (!confirm(question)) return;
    try {
      const rollout = await api.call('rollback', { params: { app: env.app, env: env.environment }, body: to ? { to: to.number } : {} });
      started(to ? `rollback to #${to.number}` : 'rollback', rollout.id);
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  const sync = async (): Promise<void> => {
    const drift = env.drift?.fields ?? [];
    const what = drift.length > 0 ? `, putting back:\n${drift.map((f) => `  ${f.object} ${f.path || 'missing'}`).join('\n')}` : '';
    if (!confirm(`Apply ${named(env.current)} of ${where} again, as recorded${what}?`)) return;
    try {
      const rollout = await api.call('deploy', { params: { app: env.app, env: env.environment }, body: { sync: true } });
      started('sync', rollout.id);
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  const promote = async (from: EnvironmentStatus): Promise<void> => {
    if (!confirm(`Roll ${from.current?.image ?? ''} (revision ${from.current?.number ?? '?'} of ${from.environment}) out to ${env.environment}, replacing revision ${env.current?.number ?? 'none'}?`)) return;
    try {
      const rollout = await api.call('promote', { params: { app: env.app }, body: { from: from.environment, to: env.environment } });
      started('promotion', rollout.id);
    } catch (err) {
      setMessage(describeError(err));
    }
  };

  const rolling = env.rollout;
  return (
    <article class="env" aria-label={`${env.app} in ${env.environment}`}>
      <h2>
        {env.app} <span class="env-name">{env.environment}</span>{' '}
        <span class={`badge ${healthy ? 's-success' : 's-failure'}`}>{healthy ? 'healthy' : env.replicas.ready > 0 ? 'degraded' : 'down'}</span>
        {rolling ? <StatusBadge status="in-progress" /> : null}
        {env.drift?.fields.length ? <span class="badge s-failure">drifted</span> : null}
      </h2>
      <dl>
        <dt>Revision</dt>
        <dd>{env.current ? `#${env.current.number} · ${env.current.trigger.kind} by ${env.current.trigger.by} · ${when(Date.parse(env.current.createdAt))}` : 'none'}</dd>
        <dt>Image</dt>
        <dd>
          <code class="digest">{env.current?.image ?? '–'}</code>
        </dd>
        {env.current?.trigger.commit ? (
          <>
            <dt>Commit</dt>
            <dd>
              <code title={env.current.trigger.commit}>{env.current.trigger.commit.slice(0, 7)}</code>
              {env.current.trigger.runId ? (
                <>
                  {' · '}
                  <a href={`/runs/${encodeURIComponent(env.current.trigger.runId)}`}>its run</a>
                </>
              ) : null}
            </dd>
          </>
        ) : null}
        <dt>Replicas</dt>
        <dd>
          {env.replicas.ready}/{env.replicas.desired} ready
          {env.replicas.updated !== undefined ? ` · ${env.replicas.updated} of the new revision` : ''}
        </dd>
        <dt>Endpoint</dt>
        <dd>{env.endpoint ? <a href={env.endpoint} rel="noreferrer">{env.endpoint}</a> : '–'}</dd>
        {env.hosts?.length ? (
          <>
            <dt>Hosts</dt>
            <dd>{env.hosts.join(', ')}</dd>
          </>
        ) : null}
        {env.network ? (
          <>
            <dt>Network</dt>
            <dd title="other apps of the environment call it by name on this Docker network">
              {env.network}: <code>{`http://${env.app}:${env.current?.config.port ?? 'PORT'}`}</code>
            </dd>
          </>
        ) : null}
        {env.message ? (
          <>
            <dt>Last</dt>
            <dd>{env.message}</dd>
          </>
        ) : null}
      </dl>
      <Drift env={env} />
      <Replicas env={env} />
      {followed ? (
        <LiveRollout key={followed} id={followed} {...(rolling?.id === followed ? { started: rolling } : {})} onEnd={onChange} onDismiss={() => setFollowed(undefined)} />
      ) : rolling && !rolling.id ? (
        <OtherRollout rollout={rolling} />
      ) : null}
      <div class="actions">
        <button type="button" disabled={reason !== undefined} title={reason} onClick={() => void rollback()}>
          Roll back{reason ? <span class="why"> — {reason}</span> : null}
        </button>
        {env.drift?.fields.length ? (
          <button type="button" disabled={reason !== undefined} title={reason ?? 'apply the current revision again, putting back what drifted (no new revision)'} onClick={() => void sync()}>
            Sync{reason ? <span class="why"> — {reason}</span> : null}
          </button>
        ) : null}
        {others.map((from) => (
          <button type="button" key={from.environment} disabled={reason !== undefined} title={reason} onClick={() => void promote(from)}>
            Promote from {from.environment}
          </button>
        ))}
        <button
          type="button"
          aria-expanded={open}
          onClick={() => {
            setOpen(!open);
            remember(!open);
          }}
        >
          {open ? 'Hide history' : 'History'}
        </button>
      </div>
      {message ? <p role="status">{message}</p> : null}
      {open ? (
        <History
          app={env.app}
          env={env.environment}
          current={env.current}
          denied={reason}
          initialPicked={linked ?? []}
          onPicked={(picked) => remember(true, picked)}
          onRollback={(to) => void rollback(to)}
        />
      ) : null}
    </article>
  );
}
