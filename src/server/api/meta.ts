// The routes about the server itself: its OpenAPI document, liveness and Prometheus metrics.
import type { AppContext } from '../app.js';
import type { Handlers } from './routing.js';

export function metaRoutes(ctx: AppContext, document: () => unknown): Handlers<'openapi' | 'health' | 'metrics'> {
  return {
    openapi: async () => document() as Record<string, unknown>,
    health: async () => ({ status: 'ok' as const }),
    metrics: async ({ reply }) => {
      const text = await ctx.metrics.render(ctx.store, ctx.runner);
      void reply.type(ctx.metrics.contentType);
      // sent as text, not through the JSON serializer
      void reply.serializer((data: unknown) => String(data));
      return text;
    },
  };
}
