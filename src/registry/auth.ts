// Who may do what: Slipway tokens (checked by a pluggable TokenVerifier) arrive either as Basic
// auth on each request (curl -u, skopeo --creds) or through Docker's Bearer token flow, where
// GET /v2/token trades them for a short-lived signed token scoped to repository actions.
// Reads may be anonymous when the data directory's config.json says so, globally or per
// repository; pushes never are.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { credentialsOf, decodeClaims, encodeClaims, ensureAdminToken as ensureAdminTokenFile, isSignatureOf, readOrCreateSecretFile, signatureOf } from '../http/index.js';
import { RegistryError } from './errors.js';
import type { RegistryPaths } from './paths.js';
import { isNotFound } from './storage.js';
import { isPullCredential, mintPullCredential, verifyPullCredential, type PullCredential } from './pull-credentials.js';

/** How the registry asks "is this a token, and what may it do?". The server plugs its store in. */
export interface TokenVerifier {
  verify(secret: string): Promise<{ scopes: string[] } | undefined>;
}

export type Action = 'pull' | 'push' | 'delete';
const ALL_ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

/** One grant inside a Bearer token, in Docker's token format. */
export interface AccessEntry {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

/** Actions on one repository. */
export interface RepositoryScope {
  name: string;
  actions: Action[];
}

export type Need = { kind: 'base' } | { kind: 'catalog' } | ({ kind: 'repository' } & RepositoryScope);

type Principal =
  | { kind: 'anonymous' }
  | { kind: 'token'; account: string; scopes: string[] }
  | { kind: 'bearer'; anonymous: boolean; access: AccessEntry[] };

export interface AccessConfig {
  /** Anyone may pull from every repository. */
  anonymousPull: boolean;
  /** Per repository: `{ "team/app": { "anonymousPull": true } }`. */
  repositories: Record<string, { anonymousPull?: boolean }>;
}

export interface AuthOptions {
  verifier: TokenVerifier;
  /** The `service` of the Bearer challenge; tokens are only valid for it. */
  service?: string;
  tokenTtlSeconds?: number;
  /** HMAC key for Bearer tokens; by default DATA/token-key, made on first use. */
  signingKey?: Buffer;
}

/**
 * A constant-time verifier over a fixed list of secrets (the admin token of `registry serve`,
 * tests). Every entry is compared, so the time taken says nothing about which one matched.
 */
export function staticTokens(tokens: ReadonlyArray<{ secret: string; scopes: string[] }>): TokenVerifier {
  const entries = tokens.map((t) => ({ hash: sha256(t.secret), scopes: t.scopes }));
  return {
    async verify(secret) {
      const candidate = sha256(secret);
      let found: string[] | undefined;
      for (const e of entries) if (timingSafeEqual(candidate, e.hash) && !found) found = e.scopes;
      return found ? { scopes: [...found] } : undefined;
    },
  };
}

/**
 * What a Slipway token's scopes allow on one repository. Plain scopes follow the product's
 * vocabulary (read, run, deploy, admin); `repository:<name>[*]:<actions>` grants one repository
 * (or a name prefix ending in `*`) precisely.
 */
export function allowedActions(scopes: readonly string[], repository: string): Set<Action> {
  const out = new Set<Action>();
  for (const scope of scopes) {
    switch (scope) {
      case 'admin':
        ALL_ACTIONS.forEach((a) => out.add(a));
        break;
      case 'push':
      case 'run': // a pipeline's build job pushes the image it built
        out.add('pull').add('push');
        break;
      case 'read':
      case 'pull':
      case 'deploy': // a rollout pulls the image it deploys
        out.add('pull');
        break;
      default: {
        // deploy:ENV rolls images out to one environment: it pulls them like deploy
        if (scope.startsWith('deploy:')) {
          out.add('pull');
          break;
        }
        const m = /^repository:([^:]+):(.+)$/.exec(scope);
        if (!m) break;
        const [, pattern = '', actions = ''] = m;
        const matches = pattern.endsWith('*') ? repository.startsWith(pattern.slice(0, -1)) : repository === pattern;
        if (!matches) break;
        for (const a of actions.split(',')) {
          if (a === '*') ALL_ACTIONS.forEach((x) => out.add(x));
          else if ((ALL_ACTIONS as readonly string[]).includes(a)) out.add(a as Action);
        }
      }
    }
  }
  return out;
}

function canListCatalog(scopes: readonly string[]): boolean {
  return scopes.some((s) => ['admin', 'read', 'pull', 'push', 'run', 'deploy'].includes(s) || s.startsWith('deploy:'));
}

export class RegistryAuth {
  private readonly service: string;
  private readonly ttlSeconds: number;
  private signingKey: Buffer | undefined;
  private configCache: { config: AccessConfig; readAtMs: number } | undefined;

  constructor(
    private readonly paths: RegistryPaths,
    private readonly options: AuthOptions,
  ) {
    this.service = options.service ?? 'slipway-registry';
    this.ttlSeconds = options.tokenTtlSeconds ?? 300;
    this.signingKey = options.signingKey;
  }

  /**
   * Throws UNAUTHORIZED (with the challenge) or DENIED unless the request may do `need`.
   * `alsoAsk` are scopes the request can use without needing them (a mount's source): a 401
   * challenge asks for them too, so the token the client fetches from it covers them.
   */
  async authorize(req: IncomingMessage, need: Need, alsoAsk: readonly RepositoryScope[] = []): Promise<void> {
    const principal = await this.authenticate(req);
    if (await this.allows(principal, need)) return;
    if (principal.kind === 'token') throw new RegistryError('DENIED', describeNeed(need));
    throw new RegistryError('UNAUTHORIZED', describeNeed(need), 401, {
      'WWW-Authenticate': this.challenge(req, need, principal.kind === 'bearer', alsoAsk),
    });
  }

  /** GET /v2/token: Docker's token endpoint. Basic credentials optional (anonymous pull). */
  async issueToken(req: IncomingMessage, query: URLSearchParams): Promise<Record<string, unknown>> {
    await this.key();
    let principal: Principal = { kind: 'anonymous' };
    const credentials = credentialsOf(req);
    if (credentials?.scheme === 'basic') {
      const verified = await this.verifyBasic(credentials.secret);
      if (!verified) {
        throw new RegistryError('UNAUTHORIZED', 'invalid credentials', 401, {
          'WWW-Authenticate': `Basic realm="${this.service}"`,
        });
      }
      principal = { kind: 'token', account: credentials.user, scopes: verified.scopes };
    } else if (req.headers.authorization) {
      throw new RegistryError('UNAUTHORIZED', 'the token endpoint takes Basic credentials');
    }
    const access: AccessEntry[] = [];
    for (const scope of query.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean)) {
      const requested = parseScope(scope);
      if (!requested) continue;
      const granted = await this.grant(principal, requested);
      if (granted.length > 0) access.push({ ...requested, actions: granted });
    }
    const nowSeconds = Math.floor(Date.now() / 1000);
    const account = principal.kind === 'token' ? principal.account : '';
    const token = this.sign({
      iss: 'slipway',
      sub: account,
      aud: this.service,
      iat: nowSeconds,
      nbf: nowSeconds - 10,
      exp: nowSeconds + this.ttlSeconds,
      access,
      // anonymous tokens carry no authority beyond `access`; marking them keeps /v2/ honest
      anon: principal.kind === 'anonymous',
    });
    return {
      token,
      access_token: token,
      expires_in: this.ttlSeconds,
      issued_at: new Date(nowSeconds * 1000).toISOString(),
    };
  }

  private async authenticate(req: IncomingMessage): Promise<Principal> {
    if (!req.headers.authorization) return { kind: 'anonymous' };
    const credentials = credentialsOf(req);
    if (credentials?.scheme === 'basic') {
      const verified = await this.verifyBasic(credentials.secret);
      if (!verified) throw this.unauthorized(req, 'invalid credentials');
      return { kind: 'token', account: credentials.user, scopes: verified.scopes };
    }
    if (credentials?.scheme === 'bearer') {
      const claims = await this.verifySigned(credentials.secret);
      if (!claims) throw this.unauthorized(req, 'invalid or expired token');
      return { kind: 'bearer', anonymous: claims.anon, access: claims.access };
    }
    throw this.unauthorized(req, 'unsupported authorization scheme');
  }

  /**
   * A Basic secret: a pull credential (one repository, pull only, until it expires; see
   * pull-credentials.ts) or else a token the verifier knows.
   */
  private async verifyBasic(secret: string): Promise<{ scopes: string[] } | undefined> {
    if (isPullCredential(secret)) {
      const verified = verifyPullCredential(await this.key(), secret);
      return verified ? { scopes: [`repository:${verified.repository}:pull`] } : undefined;
    }
    return this.options.verifier.verify(secret);
  }

  /** A credential that may only pull `repository`, for `ttlMs` (a cluster's image pull secret). */
  async pullCredential(repository: string, ttlMs: number): Promise<PullCredential> {
    return mintPullCredential(await this.key(), repository, ttlMs);
  }

  private async allows(p: Principal, need: Need): Promise<boolean> {
    switch (p.kind) {
      case 'anonymous':
        return need.kind === 'repository' && need.actions.every((a) => a === 'pull') && (await this.isAnonymousPull(need.name));
      case 'token':
        if (need.kind === 'base') return true;
        if (need.kind === 'catalog') return canListCatalog(p.scopes);
        return hasAll(allowedActions(p.scopes, need.name), need.actions);
      case 'bearer': {
        if (need.kind === 'base') return !p.anonymous;
        if (need.kind === 'catalog') return p.access.some((a) => a.type === 'registry' && a.name === 'catalog');
        const granted = new Set<string>(p.access.filter((a) => a.type === 'repository' && a.name === need.name).flatMap((a) => a.actions));
        return need.actions.every((a) => granted.has(a) || granted.has('*'));
      }
    }
  }

  /** The actions of a requested scope this principal gets (never more than asked). */
  private async grant(p: Principal, requested: AccessEntry): Promise<string[]> {
    if (requested.type === 'registry') {
      return requested.name === 'catalog' && p.kind === 'token' && canListCatalog(p.scopes) ? ['*'] : [];
    }
    const allowed =
      p.kind === 'token'
        ? allowedActions(p.scopes, requested.name)
        : new Set<Action>((await this.isAnonymousPull(requested.name)) ? ['pull'] : []);
    return requested.actions.filter((a) => (a === '*' ? hasAll(allowed, ALL_ACTIONS) : allowed.has(a as Action)));
  }

  async isAnonymousPull(repository: string): Promise<boolean> {
    const config = await this.accessConfig();
    return config.anonymousPull || config.repositories[repository]?.anonymousPull === true;
  }

  /** config.json, re-read at most once a second so an edit applies without a restart. */
  async accessConfig(): Promise<AccessConfig> {
    if (this.configCache && Date.now() - this.configCache.readAtMs < 1000) return this.configCache.config;
    const config = await readAccessConfig(this.paths.config());
    this.configCache = { config, readAtMs: Date.now() };
    return config;
  }

  private unauthorized(req: IncomingMessage, detail: string): RegistryError {
    return new RegistryError('UNAUTHORIZED', detail, 401, { 'WWW-Authenticate': this.challenge(req, { kind: 'base' }, false) });
  }

  private challenge(req: IncomingMessage, need: Need, insufficient: boolean, alsoAsk: readonly RepositoryScope[] = []): string {
    const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : forwardedProto(req) ?? 'http';
    const host = /^[A-Za-z0-9.\-:[\]]+$/.test(req.headers.host ?? '') ? req.headers.host : 'localhost';
    let value = `Bearer realm="${proto}://${host}/v2/token",service="${this.service}"`;
    // several scopes go in one space-separated `scope` (Docker's token spec; containerd splits it)
    const scopes = (need.kind === 'repository' ? [need, ...alsoAsk] : []).map((s) => `repository:${s.name}:${s.actions.join(',')}`);
    if (scopes.length > 0) value += `,scope="${scopes.join(' ')}"`;
    if (need.kind === 'catalog') value += `,scope="registry:catalog:*"`;
    if (insufficient) value += `,error="insufficient_scope"`;
    return value;
  }

  // --- signed tokens: base64url(header).base64url(claims).base64url(HMAC-SHA256) --------------

  private sign(claims: TokenClaims): string {
    const key = this.signingKey;
    if (!key) throw new Error('signing key not loaded');
    const signed = `${encodeClaims({ alg: 'HS256', typ: 'JWT' })}.${encodeClaims(claims)}`;
    return `${signed}.${signatureOf(key, signed)}`;
  }

  private async verifySigned(token: string): Promise<TokenClaims | undefined> {
    const key = await this.key();
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head = '', body = '', sig = ''] = parts;
    if (!isSignatureOf(key, `${head}.${body}`, sig)) return undefined;
    const claims = decodeClaims(body) as Partial<TokenClaims> | undefined;
    const now = Date.now() / 1000;
    if (!claims || claims.aud !== this.service || !(Number(claims.exp) > now) || !(Number(claims.nbf) <= now) || !Array.isArray(claims.access)) {
      return undefined;
    }
    return claims as TokenClaims;
  }

  /** Loads (or makes, once) the signing key; called before the first token is issued. */
  async key(): Promise<Buffer> {
    if (!this.signingKey) this.signingKey = Buffer.from((await readOrCreateSecretFile(this.paths.tokenKey(), () => randomBytes(32).toString('hex'))).secret);
    return this.signingKey;
  }
}

interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  access: AccessEntry[];
  anon: boolean;
}

export async function readAccessConfig(file: string): Promise<AccessConfig> {
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return { anonymousPull: false, repositories: {} };
    throw err;
  }
  const doc = JSON.parse(raw) as Partial<AccessConfig>;
  return { anonymousPull: doc.anonymousPull === true, repositories: doc.repositories ?? {} };
}

/**
 * The admin token of `registry serve`: SLIPWAY_ADMIN_TOKEN if set, else DATA/admin-token, made
 * with mode 0600 on first start (`created` tells the caller to print it, that once).
 */
export async function ensureAdminToken(paths: RegistryPaths, env: NodeJS.ProcessEnv): Promise<{ token: string; created: boolean }> {
  const { secret, created } = await ensureAdminTokenFile(paths.adminToken(), env);
  return { token: secret, created };
}

function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  if (type !== 'repository' && type !== 'registry') return undefined;
  return { type, name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

function forwardedProto(req: IncomingMessage): string | undefined {
  const v = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim();
  return first === 'https' || first === 'http' ? first : undefined;
}

function describeNeed(need: Need): unknown {
  return need.kind === 'repository' ? { repository: need.name, actions: need.actions } : { resource: need.kind };
}

function hasAll(set: ReadonlySet<string>, wanted: readonly string[]): boolean {
  return wanted.every((a) => set.has(a));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

