// The registry's public face: an OCI Distribution Spec v1.1 registry over a data directory,
// as a request handler that `slipway server` mounts at /v2/ and `slipway registry serve` runs
// alone, plus its garbage collector.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryAuth, type AuthOptions } from './auth.js';
import { createCatalog, type RegistryCatalog } from './catalog.js';
import { collectGarbage, DEFAULT_UPLOAD_MAX_IDLE_MS, type GcOptions, type GcReport } from './gc.js';
import { RegistryRoutes } from './routes.js';
import { Storage } from './storage.js';
import { Uploads } from './uploads.js';
import type { PullCredential } from './pull-credentials.js';

export { ensureAdminToken, staticTokens, allowedActions, readAccessConfig } from './auth.js';
export type { AccessConfig, Action, AuthOptions, TokenVerifier } from './auth.js';
export { ERROR_CODES, RegistryError } from './errors.js';
export type { RegistryErrorCode } from './errors.js';
export type { GcOptions, GcReport } from './gc.js';
export type { ManifestDetails, Platform, RegistryCatalog, RepositoryList, RepositorySummary, TagList, TagSummary } from './catalog.js';
export { MAX_TAGS } from './catalog.js';
export { isValidName, isValidTag, parseImageReference, type ImageReference } from './names.js';
export { RegistryPaths } from './paths.js';
export { isPullCredential, PULL_CREDENTIAL_USER, type PullCredential } from './pull-credentials.js';

export interface RegistryOptions {
  dataDir: string;
  auth: AuthOptions;
  /** fsync each blob before it becomes visible; on by default (distribution does too). */
  fsync?: boolean;
  /** Told of each repository whose tags or manifests changed. */
  onChange?: (repository: string) => void;
  /** Where unexpected (500) errors are reported; stderr by default. */
  log?: (message: string) => void;
}

export interface Registry {
  /** Serves the request if it is one of the registry's (`/v2`, `/v2/…`); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  gc(options?: GcOptions): Promise<GcReport>;
  /** Repositories and tags as the web UI and the API show them, and tag deletion. */
  catalog: RegistryCatalog;
  /**
   * A credential that may only pull `repository` and expires after `ttlMs` (at most 90 days): what
   * a Kubernetes target puts in its image pull secret. Stateless: nothing is stored to mint or check it.
   */
  pullCredential(repository: string, ttlMs: number): Promise<PullCredential>;
  /** Stops the periodic clean-up of abandoned uploads. */
  close(): void;
}

/** How often abandoned upload sessions are looked for while the registry runs. */
const UPLOAD_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/** gc over a data directory without serving it (`slipway registry gc`). */
export async function collectGarbageIn(dataDir: string, options: GcOptions = {}): Promise<GcReport> {
  const storage = new Storage(dataDir);
  return collectGarbage(storage, new Uploads(storage, { fsync: false }), options);
}

export function createRegistry(options: RegistryOptions): Registry {
  const storage = new Storage(options.dataDir, options.onChange);
  const uploads = new Uploads(storage, { fsync: options.fsync ?? true });
  const auth = new RegistryAuth(storage.paths, options.auth);
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const routes = new RegistryRoutes(storage, uploads, auth, log);

  const sweepUploads = (): void => {
    uploads.purgeStale(DEFAULT_UPLOAD_MAX_IDLE_MS).catch((err: unknown) => log(`registry: cleaning uploads: ${String(err)}`));
  };
  sweepUploads();
  const timer = setInterval(sweepUploads, UPLOAD_SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    handle(req, res) {
      const url = req.url ?? '';
      if (!(url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?'))) return false;
      void routes.handle(req, res);
      return true;
    },
    gc: (gcOptions) => collectGarbage(storage, uploads, gcOptions),
    catalog: createCatalog(storage),
    pullCredential: (repository, ttlMs) => auth.pullCredential(repository, ttlMs),
    close: () => clearInterval(timer),
  };
}
