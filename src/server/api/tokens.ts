// API tokens: create (the secret is in that answer only), list, revoke.
import { tokenNameProblem } from '../../store/index.js';
import { HttpError } from '../../http/index.js';
import type { AppContext } from '../app.js';
import type { Handlers } from './routing.js';

export function tokenRoutes(ctx: AppContext): Handlers<'createToken' | 'listTokens' | 'revokeToken'> {
  const { store } = ctx;
  return {
    createToken: async ({ body, token }) => {
      const problem = tokenNameProblem(body.name);
      if (problem) throw new HttpError(422, 'TOKEN_INVALID', `name: ${problem}`);
      const created = await store.createToken({ name: body.name, scopes: body.scopes });
      await store.appendAudit({ actor: token.name, action: 'token.create', subject: created.token.id });
      return { ...created.token, secret: created.secret };
    },
    listTokens: async () => ({ tokens: await store.listTokens() }),
    revokeToken: async ({ params, token }) => {
      if (!(await store.revokeToken(params.id))) throw new HttpError(404, 'TOKEN_NOT_FOUND', 'no such token');
      await store.appendAudit({ actor: token.name, action: 'token.revoke', subject: params.id });
      return { ok: true as const };
    },
  };
}
