// The contract's routes on Fastify: each route's schemas become its validation and its OpenAPI
// entry, its scope is checked before its body is read, and every failure leaves as one JSON error
// shape ({error: {code, message, fields?}}) with the status it means.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { routes, type BodyOf, type ParamsOf, type QueryOf, type ResponseOf, type RouteName, type RouteSpec } from '../../api/contract.js';
import { ErrorBody } from '../../api/schemas.js';
import { StoreError, type Store, type StoreErrorCode, type VerifiedToken } from '../../store/index.js';
import { DeployError } from '../../deploy/index.js';
import { AUTH_CHALLENGE, HttpError } from '../../http/index.js';
import { authenticate, wantsAuthChallenge } from '../auth.js';
import { WebhookError } from '../webhooks.js';
import { CHECKED_BY_HANDLER, fieldProblems } from './validation.js';

/** What a handler returns when it answered on the raw response itself (Server-Sent Events). */
export const ANSWERED = Symbol('answered');

export interface Call<N extends RouteName> {
  params: ParamsOf<N>;
  query: QueryOf<N>;
  body: BodyOf<N>;
  /** the caller; an anonymous one on routes that need no token */
  token: VerifiedToken;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type Handler<N extends RouteName> = (call: Call<N>) => Promise<ResponseOf<N> | typeof ANSWERED>;
export type Handlers<N extends RouteName> = { [K in N]: Handler<K> };

const ANONYMOUS: VerifiedToken = { id: '', name: 'anonymous', scopes: [] };

declare module 'fastify' {
  interface FastifyContextConfig {
    route?: RouteName;
    scope?: RouteSpec['scope'];
    invalidCode?: string;
  }
  interface FastifyRequest {
    token?: VerifiedToken;
  }
}

/** A 422 naming every bad field, with the route's code. */
export class ValidationFailure extends HttpError {
  constructor(
    code: string,
    readonly fields: Array<{ field: string; message: string }>,
    message = fields.map((f) => `${f.field}: ${f.message}`).join('; '),
  ) {
    super(422, code, message);
  }
}

/** Expected failures of the parts the API calls, as the HTTP errors they are; undefined for bugs. */
export function httpErrorOf(err: unknown, invalidCode = 'REQUEST_INVALID'): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof WebhookError) return new HttpError(err.status, err.code, err.message);
  if (err instanceof StoreError) {
    const status: Partial<Record<StoreErrorCode, number>> = {
      STORE_NAME_INVALID: 422,
      STORE_TOKEN_INVALID: 422,
      STORE_URL_INVALID: 422,
      STORE_NAME_TAKEN: 409,
      STORE_RUN_TRANSITION: 409,
      STORE_NOT_FOUND: 404,
      STORE_UNAVAILABLE: 503,
    };
    const code = status[err.code];
    return code === undefined ? undefined : new HttpError(code, err.code, err.message);
  }
  if (err instanceof DeployError && err.code === 'ROLLOUT_INVALID') return new ValidationFailure(err.code, err.fields.length > 0 ? [...err.fields] : [{ field: 'body', message: err.message }], err.message);
  const framework = err as FastifyError;
  if (framework.validation) return new ValidationFailure(invalidCode, fieldProblems(framework.validation as ErrorObject[], framework.validationContext ?? 'body'));
  if (framework.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new HttpError(413, 'REQUEST_TOO_LARGE', `the body is larger than ${1024 * 1024} bytes`);
  if (framework.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || framework.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new HttpError(400, 'REQUEST_INVALID', framework.message);
  return undefined;
}

export function sendFailure(reply: FastifyReply, err: HttpError): void {
  // a page's script gets no challenge: the browser would put its password dialog over the UI
  if (err.status === 401 && wantsAuthChallenge(reply.request.raw)) void reply.header('WWW-Authenticate', AUTH_CHALLENGE);
  const fields = err instanceof ValidationFailure ? { fields: err.fields } : {};
  void reply.code(err.status).send({ error: { code: err.code, message: err.message, ...fields } });
}

/** Registers the contract's routes `names` with their handlers. */
export function registerRoutes<N extends RouteName>(app: FastifyInstance, store: Store, handlers: Handlers<N>): void {
  for (const name of Object.keys(handlers) as N[]) {
    const route: RouteSpec = routes[name];
    const handler = handlers[name] as Handler<RouteName>;
    const body = route.body && route.bodyCheckedByHandler ? { ...route.body, [CHECKED_BY_HANDLER]: true } : route.body;
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      schema: {
        summary: route.summary,
        tags: [route.tag],
        operationId: name,
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { querystring: route.query } : {}),
        ...(body ? { body } : {}),
        ...(route.scope ? { security: [{ bearer: [] }] } : {}),
        response: { [route.status]: route.response, '4XX': ErrorBody },
      },
      config: { route: name, ...(route.scope ? { scope: route.scope } : {}), ...(route.invalidCode ? { invalidCode: route.invalidCode } : {}) },
      // the token is checked before the body is read: nothing an unauthenticated caller sends is parsed
      ...(route.scope ? { onRequest: async (request: FastifyRequest) => void (request.token = await authenticate(store, request.raw, route.scope!)) } : {}),
      ...(route.body ? { preValidation: async (request: FastifyRequest) => void (request.body ??= {}) } : {}),
      handler: async (request, reply) => {
        const result = await handler({
          params: request.params as never,
          query: request.query as never,
          body: request.body as never,
          token: request.token ?? ANONYMOUS,
          request,
          reply,
        });
        if (result === ANSWERED) return reply;
        if (!reply.sent) void reply.code(reply.statusCode === 200 ? route.status : reply.statusCode).send(result);
        return reply;
      },
    });
  }
}
