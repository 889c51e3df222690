// The app shell: who is signed in, the navigation, and the page for the current path.
import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { whenSignedOut } from './api.js';
import { navigate, onLinkClick, useLocation } from './router.js';
import { currentSession, denied, signOut, type Session } from './session.js';
import { LoginPage } from './pages/login.js';
import { ProjectsPage } from './pages/projects.js';
import { ProjectRunsPage } from './pages/project-runs.js';
import { RunPage } from './pages/run.js';
import { EnvironmentsPage } from './pages/environments.js';
import { ErrorNote } from './components/status.js';
import { LiveState } from './components/live-state.js';

// pages most visits never open load on first use, keeping the initial script small
const loadDora = (): Promise<(p: Record<string, never>) => JSX.Element> => import('./pages/dora.js').then((m) => m.DoraPage);
const loadSettings = (): Promise<(p: { session: Session }) => JSX.Element> => import('./pages/settings.js').then((m) => m.SettingsPage);
const loadRegistry = (): Promise<(p: { session: Session; repository?: string }) => JSX.Element> => import('./pages/registry.js').then((m) => m.RegistryPage);

function Lazy<P extends object>({ load, props }: { load: () => Promise<(p: P) => JSX.Element>; props: P }): JSX.Element {
  const [component, setComponent] = useState<{ page: (p: P) => JSX.Element } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    load().then(
      (page) => live && setComponent({ page }),
      (err: unknown) => live && setError(err),
    );
    return () => void (live = false);
  }, [load]);
  if (component) return <component.page {...props} />;
  return <main>{error ? <ErrorNote error={error} /> : <p class="loading">Loading…</p>}</main>;
}

function Page({ session, path }: { session: Session; path: string }): JSX.Element {
  let m: RegExpExecArray | null;
  if (path === '/' || path === '/projects') return <ProjectsPage />;
  if ((m = /^\/projects\/([^/]+)$/.exec(path))) return <ProjectRunsPage project={decodeURIComponent(m[1]!)} />;
  if ((m = /^\/runs\/([^/]+)$/.exec(path))) return <RunPage key={m[1]} id={decodeURIComponent(m[1]!)} session={session} />;
  if (path === '/environments') return <EnvironmentsPage session={session} />;
  if (path === '/dora') return <Lazy load={loadDora} props={{}} />;
  if (path === '/settings') return <Lazy load={loadSettings} props={{ session }} />;
  // everything after /registry/ is the repository name (slashes and all; nothing in one needs decoding);
  // keyed, so that another lazy page is never drawn with these props
  if (path === '/registry' || path.startsWith('/registry/')) {
    const repository = path === '/registry' ? undefined : path.slice('/registry/'.length);
    return <Lazy key="registry" load={loadRegistry} props={{ session, ...(repository ? { repository } : {}) }} />;
  }
  return (
    <main>
      <h1>Not found</h1>
      <p>
        There is no page at {path}. <a href="/">All projects</a>
      </p>
    </main>
  );
}

export function App(): JSX.Element {
  const loc = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    void currentSession().then((s) => setSession(s ?? null));
  }, []);
  useEffect(() => {
    if (session === null && loc.path !== '/login') navigate(`/login?next=${encodeURIComponent(loc.path + location.search)}`, { replace: true });
  }, [session, loc.path]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null || loc.path === '/login') {
    return (
      <LoginPage
        onSignedIn={(s) => {
          setSession(s);
          const next = loc.query.get('next');
          // only a path of this site: never a redirect elsewhere
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
        }}
      />
    );
  }
  const here = (prefix: string): 'page' | undefined => (loc.path === prefix || (prefix !== '/' && loc.path.startsWith(prefix)) ? 'page' : undefined);
  return (
    <div class="shell" onClick={(e) => onLinkClick(e as unknown as MouseEvent)}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">Slipway</a>
        <nav aria-label="main">
          <a href="/" aria-current={loc.path === '/' || loc.path.startsWith('/projects') || loc.path.startsWith('/runs') ? 'page' : undefined}>Projects</a>
          <a href="/environments" aria-current={here('/environments')}>Environments</a>
          <a href="/registry" aria-current={here('/registry')}>Registry</a>
          <a href="/dora" aria-current={here('/dora')}>DORA</a>
          {denied(session, 'admin') === undefined ? <a href="/settings" aria-current={here('/settings')}>Settings</a> : null}
        </nav>
        <LiveState />
        <span class="who">
          {session.name} <span class="scopes">({session.scopes.join(', ')})</span>
          <button
            type="button"
            onClick={async () => {
              await signOut();
              setSession(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <div id="main" tabIndex={-1}>
        <Page session={session} path={loc.path} />
      </div>
    </div>
  );
}
