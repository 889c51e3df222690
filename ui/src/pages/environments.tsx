// Every app × environment: the revision it serves, its replicas' health, its endpoint, the rollout
// under way (live), and its history — automatic rollbacks stand out and say why; two revisions can
// be compared. Rollback and promote ask for confirmation, naming what will change. The address
// keeps the history opened last and its comparison (?history=APP/ENV&compare=N,M) to be shared.
import { useEffect } from 'preact/hooks';
import type { JSX } from 'preact';
import { api } from '../api.js';
import { useLive } from '../live.js';
import { useLocation } from '../router.js';
import type { Session } from '../session.js';
import { ErrorNote } from '../components/status.js';
import { EnvironmentCard } from './environments/card.js';

/** `N,M` of the address: two revision numbers, or none. */
function comparedIn(value: string | null): number[] {
  const m = /^([1-9][0-9]{0,8}),([1-9][0-9]{0,8})$/.exec(value ?? '');
  return m ? [Number(m[1]), Number(m[2])] : [];
}

export function EnvironmentsPage({ session }: { session: Session }): JSX.Element {
  // a run's deploy job starts a rollout (run), a rollout through the API starts and ends one (environment)
  const { value, error, reload } = useLive(() => api.call('status', {}), [], ['environment', 'run'], { fallbackMs: 2000 });
  const rollingOut = value?.environments.some((env) => env.rollout) ?? false;
  // replicas change state during a rollout without a write the change stream would tell of
  useEffect(() => {
    if (!rollingOut) return;
    const timer = window.setInterval(reload, 2000);
    return () => window.clearInterval(timer);
  }, [rollingOut]);
  const { query } = useLocation();
  const linked = query.get('history');
  const compared = comparedIn(query.get('compare'));
  return (
    <main>
      <h1>Environments</h1>
      <ErrorNote error={error} />
      {value && value.environments.length === 0 ? <p>Nothing is deployed yet.</p> : null}
      {value?.environments.map((env) => {
        const key = `${env.app}/${env.environment}`;
        return <EnvironmentCard key={key} env={env} all={value.environments} session={session} onChange={reload} {...(linked === key ? { linked: compared } : {})} />;
      })}
    </main>
  );
}
