// Settings for admins: API tokens (a new one's secret is shown once), a project's secrets (names
// only: a value goes in and never comes back) and its webhook (a new secret and the exact URL to
// paste into GitHub, Gitea/Forgejo or GitLab).
import type { JSX } from 'preact';
import { denied, type Session } from '../session.js';
import { Tokens } from './settings/tokens.js';
import { ProjectSettings } from './settings/project.js';

export function SettingsPage({ session }: { session: Session }): JSX.Element {
  const reason = denied(session, 'admin');
  if (reason) {
    return (
      <main>
        <h1>Settings</h1>
        <p class="error" role="alert">
          Settings {reason}: tokens, project secrets and webhooks are for admins. You are signed in as {session.name} ({session.scopes.join(', ')}).
        </p>
      </main>
    );
  }
  return (
    <main class="settings">
      <h1>Settings</h1>
      <Tokens />
      <ProjectSettings />
    </main>
  );
}

