// Sign in with a token: the server answers with an HttpOnly session cookie; the token itself is
// never kept by the page.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { ErrorNote } from '../components/status.js';
import { describeError } from '../api.js';
import { signIn, type Session } from '../session.js';

export function LoginPage({ onSignedIn }: { onSignedIn: (s: Session) => void }): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <main class="login">
      <h1>Slipway</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            onSignedIn(await signIn(token.trim()));
          } catch (err) {
            setError(describeError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <p class="hint">
          The server printed an admin token at its first start (also in <code>DATA/admin-token</code>); <code>slipway token create</code> makes more.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}
