// The JSON API on Fastify: the contract's routes, split by resource, plus webhooks; the OpenAPI
// document is made from the same schemas. Streaming surfaces (registry, git) stay on raw node:http
// beside it (see app.ts).
import Fastify, { type FastifyInstance } from 'fastify';
import swagger, { type SwaggerTransformObject } from '@fastify/swagger';
import { routes } from '../../api/contract.js';
import { HttpError, parseJsonObject } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { compileValidator } from './validation.js';
import { httpErrorOf, registerRoutes, sendFailure } from './routing.js';
import { projectRoutes } from './projects.js';
import { runRoutes } from './runs.js';
import { tokenRoutes } from './tokens.js';
import { checkSessionOrigin, sessionRoutes } from './session.js';
import { deployRoutes } from './deploys.js';
import { metaRoutes } from './meta.js';
import { registryRoutes } from './registry.js';
import { eventRoutes } from './events.js';
import { webhookPaths } from './webhooks.js';
import { logRequests, requestLogging } from './request-log.js';

const BODY_LIMIT_BYTES = 1024 * 1024;

/** The path patterns of every route, to tell "no such route" (404) from "not with this method" (405). */
const PATTERNS = Object.values(routes).map((route) => new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}$`));

export async function createApi(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    // one line per request through the server's logger, under a request id echoed in X-Request-Id
    ...requestLogging(ctx.logger),
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 500 },
    // a malformed % escape in the path is the caller's mistake, said in our error shape
    frameworkErrors: (error, _request, reply) => sendFailure(reply, httpErrorOf(error) ?? new HttpError(400, 'REQUEST_PATH_INVALID', 'the path has a malformed % escape')),
  });
  logRequests(app);
  app.setValidatorCompiler(compileValidator);
  // responses are documented by their schemas, not filtered by them
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // any content type is read as JSON, as curl -d sends it (form-urlencoded) included; empty is {}
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, parseJsonObject(text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((error, request, reply) => {
    const known = httpErrorOf(error, request.routeOptions.config.invalidCode);
    if (known) return sendFailure(reply, known);
    // the request's log line carries the stack, under its request id
    sendFailure(reply, new HttpError(500, 'INTERNAL', 'internal error; see the server log'));
  });
  app.setNotFoundHandler((request, reply) => {
    const pathname = request.url.split('?')[0] ?? '/';
    const known = PATTERNS.some((pattern) => pattern.test(pathname));
    sendFailure(reply, known ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here`) : new HttpError(404, 'NOT_FOUND', `nothing at ${pathname.slice(0, 200)}`));
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Slipway API', version: '1', description: 'Runs, deploys, tokens and webhooks of a Slipway server. Errors are {"error": {"code", "message", "fields"?}}.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Slipway token (Basic with any user name works too; a browser: the session cookie of POST /api/session)' } } },
    },
    // webhooks are served beside the framework (see webhooks.ts), documented here with the rest
    transformObject: (documents) => {
      const openapi = (documents as unknown as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject;
      return { ...openapi, paths: { ...openapi.paths, ...webhookPaths } } as ReturnType<SwaggerTransformObject>;
    },
  });
  // before the routes, so that it is in every route's chain: it acts only on the session routes
  app.addHook('onRequest', checkSessionOrigin);
  registerRoutes(app, ctx.store, metaRoutes(ctx, () => app.swagger()));
  registerRoutes(app, ctx.store, projectRoutes(ctx));
  registerRoutes(app, ctx.store, runRoutes(ctx));
  registerRoutes(app, ctx.store, tokenRoutes(ctx));
  registerRoutes(app, ctx.store, sessionRoutes(ctx));
  registerRoutes(app, ctx.store, deployRoutes(ctx));
  registerRoutes(app, ctx.store, registryRoutes(ctx));
  registerRoutes(app, ctx.store, eventRoutes(ctx.changes));
  await app.ready();
  return app;
}
