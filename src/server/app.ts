// The server's HTTP surface: the registry at /v2/, git hosting at /git/ and webhooks at /hooks/
// stay on raw node:http (streams, their own protocols, measured faster), and so do the web UI's
// files (/, its pages, /assets/); everything else — the JSON API, /healthz, /metrics — goes to the
// Fastify app of the API contract.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from '../registry/index.js';
import type { Store } from '../store/types.js';
import type { GitHosting } from './git.js';
import { HttpError, requestUrl, sendError } from '../http/index.js';
import type { Runner } from './runs/index.js';
import type { Metrics } from './metrics.js';
import type { TargetFactory } from '../deploy/index.js';
import { createApi } from './api/index.js';
import { webhookListener } from './api/webhooks.js';
import { uiAssetsListener } from './ui-assets.js';
import type { Logger } from './logger.js';
import type { ChangeFeed } from './changes.js';
import type { Previews } from './previews.js';

export interface AppContext {
  store: Store;
  runner: Runner;
  git: GitHosting;
  registry: Registry;
  /** the host runs push images to (HOST:PORT): a revision's tag-only reference names this registry only there */
  registryHost?: string;
  metrics: Metrics;
  /** the remote-fetching resolution of webhook runs is the runner's; this only queues */
  log: (message: string) => void;
  /** the server's logger, which the API logs its requests through */
  logger: Logger;
  /** the bare repositories of the projects, which manual runs are planned from */
  reposDir: string;
  /** the server's deploy targets (the runs' own) and the folder they keep revisions in */
  deployTargets: TargetFactory;
  deployDataDir: string;
  /** what changed, for GET /api/events */
  changes: ChangeFeed;
  /** pull requests' preview environments, taken down when their pull request closes */
  previews: Previews;
  /** the built web UI (index.html, assets/); default dist/ui beside the compiled server */
  uiDir?: string;
}

/** The request listener of the server, once the API is ready. */
export async function createApp(ctx: AppContext): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const api = await createApi(ctx);
  const webhooks = webhookListener(ctx);
  const ui = uiAssetsListener({ ...(ctx.uiDir ? { dir: ctx.uiDir } : {}), onError: (err) => ctx.logger.error({ err }, 'serving the web UI failed') });
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => ctx.metrics.observeRequest(req, res, started));
    const url = requestUrl(req);
    if (!url) return sendError(res, new HttpError(400, 'REQUEST_PATH_INVALID', 'the request target is not a URL path'));
    if (ctx.registry.handle(req, res)) return;
    if (ctx.git.handle(req, res, url)) return;
    if (webhooks(req, res, url)) return;
    if (ui(req, res, url)) return;
    api.routing(req, res);
  };
}
