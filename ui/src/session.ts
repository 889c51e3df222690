// Who is signed in, and what their token may do: pages disable what it may not, with the reason.
import { send } from './api.js';

export interface Session {
  name: string;
  scopes: string[];
}

export async function currentSession(): Promise<Session | undefined> {
  try {
    return (await send('GET', '/api/session')) as Session;
  } catch {
    return undefined;
  }
}

export async function signIn(token: string): Promise<Session> {
  return (await send('POST', '/api/session', { token })) as Session;
}

export async function signOut(): Promise<void> {
  await send('DELETE', '/api/session').catch(() => undefined);
}

const has = (s: Session, scope: string): boolean => s.scopes.includes('admin') || s.scopes.includes(scope);

/** Why the session may not do `what`, or undefined when it may. */
export function denied(s: Session, what: 'run' | 'admin' | { deployTo: string }): string | undefined {
  if (typeof what === 'object') {
    return has(s, 'deploy') || s.scopes.includes(`deploy:${what.deployTo}`) ? undefined : `needs a token with deploy or deploy:${what.deployTo}`;
  }
  return has(s, what) ? undefined : `needs a token with the ${what} scope`;
}
