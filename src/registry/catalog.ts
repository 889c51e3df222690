// The registry as people browse it: repositories with their tag counts, and a repository's tags
// with what each names — digest, size, created time, platforms — read from the manifests and
// config blobs the store holds. Every answer is bounded (tags answered, bytes read per answer,
// children of an index), since one hostile push must not make a page load read gigabytes.
import { MANIFEST_MAX_BYTES, parseManifest, type Descriptor } from './manifests.js';
import { isValidName, isValidTag, type Digest } from './names.js';
import { statOrUndefined, type Storage } from './storage.js';

/** Tags answered at most per listing (the newest tagged); `truncated` says when there were more. */
export const MAX_TAGS = 1000;
export const MAX_REPOSITORIES = 1000;
/** Image configs are read for their `created` and platform only up to this size. */
export const CONFIG_MAX_BYTES = 1024 * 1024;
/** Manifest and config bytes one listing may read; tags beyond it are answered without details. */
export const READ_BUDGET_BYTES = 64 * 1024 * 1024;
/** An index's children read at most (a multi-platform image has a handful). */
export const MAX_INDEX_CHILDREN = 64;
/** Beyond this many tags, stat-ing each tag file for its time costs more than the order is worth. */
const MAX_TAGS_TIMED = 10_000;
const CACHE_ENTRIES = 4096;

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface RepositorySummary {
  name: string;
  tagCount: number;
}

export interface RepositoryList {
  repositories: RepositorySummary[];
  /** repositories in the registry; more than answered when `truncated` */
  total: number;
  truncated: boolean;
}

/** What a manifest is, as far as its bytes and its config tell. */
export interface ManifestDetails {
  mediaType: string;
  /** unknown: the manifest could not be read within the bounds, or no longer parses */
  kind: 'image' | 'index' | 'unknown';
  /**
   * Bytes a pull of every platform transfers, as the manifests declare them: the manifest, its
   * config and layers; for an index, itself plus each child's, a blob shared by children counted once.
   */
  sizeBytes?: number;
  /** the image config's `created` (an index: its newest child's) */
  createdAtMs?: number;
  /** an image: its config's; an index: its children's (attestations, unknown/unknown, left out) */
  platforms: Platform[];
  artifactType?: string;
  /** why something is missing (too large, not read within this answer's budget, …) */
  note?: string;
}

export interface TagSummary extends ManifestDetails {
  tag: string;
  digest: string;
  /** when the tag was last pushed (its link's modification time) */
  taggedAtMs?: number;
}

export interface TagList {
  repository: string;
  /** newest tagged first */
  tags: TagSummary[];
  /** tags in the repository; more than answered when `truncated` */
  tagCount: number;
  truncated: boolean;
}

export interface RegistryCatalog {
  listRepositories(): Promise<RepositoryList>;
  /** undefined when the repository does not exist (or the name is not a valid one). */
  listTags(repository: string, options?: { limit?: number }): Promise<TagList | undefined>;
  /** The digest a tag points at now; undefined for an unknown (or impossible) tag. */
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /**
   * Removes the tag only: the manifest stays in the repository (pullable by digest) and its blobs
   * stay until `slipway registry gc` finds nothing uses them. The digest it pointed at, or
   * undefined when there was no such tag.
   */
  deleteTag(repository: string, tag: string): Promise<{ digest: string } | undefined>;
}

/** How much one listing may still read; shared by the tags of one answer. */
interface Budget {
  bytes: number;
}

class OverBudget extends Error {}

/** The bounds, smaller in tests. */
export interface CatalogLimits {
  readBudgetBytes: number;
  configMaxBytes: number;
}

export function createCatalog(storage: Storage, limits: Partial<CatalogLimits> = {}): RegistryCatalog {
  const bounds: CatalogLimits = { readBudgetBytes: READ_BUDGET_BYTES, configMaxBytes: CONFIG_MAX_BYTES, ...limits };
  // manifests never change under a digest, so their details can be kept across answers (a polled
  // page re-reads nothing); keyed with the repository, as visibility of children is per repository
  const cache = new Map<string, ManifestDetails>();
  const remember = (key: string, details: ManifestDetails): ManifestDetails => {
    cache.delete(key);
    cache.set(key, details);
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    return details;
  };

  const describe = async (repository: string, digest: Digest, budget: Budget): Promise<ManifestDetails> => {
    const key = `${repository}@${digest.text}`;
    const known = cache.get(key);
    if (known) return remember(key, known);
    try {
      const details = await describeManifest(storage, repository, digest, budget, bounds.configMaxBytes);
      // what could not be read may be readable later (a manifest re-pushed): only what was is kept
      return details.kind === 'unknown' ? details : remember(key, details);
    } catch (err) {
      // not cached: the next answer has a fresh budget
      if (err instanceof OverBudget) return { mediaType: '', kind: 'unknown', platforms: [], note: 'not read: this answer read its limit of manifest bytes; reload for more' };
      throw err;
    }
  };

  return {
    async listRepositories() {
      const names = await storage.listRepositories();
      const repositories: RepositorySummary[] = [];
      for (const name of names.slice(0, MAX_REPOSITORIES)) {
        repositories.push({ name, tagCount: (await storage.listTags(name))?.length ?? 0 });
      }
      return { repositories, total: names.length, truncated: names.length > MAX_REPOSITORIES };
    },

    async listTags(repository, options = {}) {
      if (!isValidName(repository)) return undefined;
      const names = await storage.listTags(repository);
      if (!names) return undefined;
      const limit = options.limit !== undefined && Number.isFinite(options.limit) ? Math.max(1, Math.min(Math.floor(options.limit), MAX_TAGS)) : MAX_TAGS;
      const timed = names.length <= MAX_TAGS_TIMED ? await mapLimited(names, 16, async (tag) => ({ tag, taggedAtMs: (await statOrUndefined(storage.paths.tag(repository, tag)))?.mtimeMs })) : names.map((tag) => ({ tag, taggedAtMs: undefined }));
      timed.sort((a, b) => (b.taggedAtMs ?? 0) - (a.taggedAtMs ?? 0) || (a.tag < b.tag ? -1 : 1));
      const budget: Budget = { bytes: bounds.readBudgetBytes };
      // one tag after another: the budget then goes to whole tags in order, whose details are
      // kept, so each answer gets further than the last instead of every tag stopping half-read
      const tags: TagSummary[] = [];
      for (const { tag, taggedAtMs } of timed.slice(0, limit)) {
        const digest = await storage.resolveTag(repository, tag);
        // deleted since the listing
        if (!digest) continue;
        const details = await describe(repository, digest, budget);
        tags.push({ tag, digest: digest.text, ...(taggedAtMs !== undefined ? { taggedAtMs: Math.round(taggedAtMs) } : {}), ...details });
      }
      return { repository, tags, tagCount: names.length, truncated: names.length > limit };
    },

    async resolveTag(repository, tag) {
      if (!isValidName(repository) || !isValidTag(tag)) return undefined;
      return (await storage.resolveTag(repository, tag))?.text;
    },

    async deleteTag(repository, tag) {
      if (!isValidName(repository) || !isValidTag(tag)) return undefined;
      const digest = await storage.resolveTag(repository, tag);
      if (!digest || !(await storage.deleteTag(repository, tag))) return undefined;
      return { digest: digest.text };
    },
  };
}

/** A blob's bytes when it exists, fits `maxBytes` and the budget; undefined when it does not exist. */
async function readBounded(storage: Storage, digest: Digest, maxBytes: number, budget: Budget): Promise<Buffer | 'too-large' | undefined> {
  const size = await storage.blobSize(digest);
  if (size === undefined) return undefined;
  if (size > maxBytes) return 'too-large';
  if (size > budget.bytes) throw new OverBudget();
  budget.bytes -= size;
  return storage.readBlob(digest);
}

async function readManifestBounded(storage: Storage, repository: string, digest: Digest, budget: Budget): Promise<{ mediaType: string; bytes: Buffer } | 'too-large' | undefined> {
  // visible in this repository first: nothing of another repository's is read on its behalf
  const mediaType = await storage.manifestMediaType(repository, digest);
  if (mediaType === undefined) return undefined;
  // the push path refuses manifests over the limit; a data directory written otherwise is not trusted
  const bytes = await readBounded(storage, digest, MANIFEST_MAX_BYTES, budget);
  if (bytes === 'too-large' || !bytes) return bytes;
  return { mediaType, bytes };
}

async function describeManifest(storage: Storage, repository: string, digest: Digest, budget: Budget, configMaxBytes: number): Promise<ManifestDetails> {
  const manifest = await readManifestBounded(storage, repository, digest, budget);
  if (manifest === 'too-large') return { mediaType: '', kind: 'unknown', platforms: [], note: `manifest larger than ${MANIFEST_MAX_BYTES} bytes: not read` };
  if (!manifest) return { mediaType: '', kind: 'unknown', platforms: [], note: 'the tag points at a manifest this repository no longer holds' };
  let parsed;
  try {
    parsed = parseManifest(manifest.bytes, manifest.mediaType);
  } catch {
    return { mediaType: manifest.mediaType, kind: 'unknown', platforms: [], note: 'the manifest does not parse' };
  }
  const base = { mediaType: parsed.mediaType, ...(parsed.artifactType !== undefined && !IMAGE_CONFIG_TYPES.has(parsed.artifactType) ? { artifactType: parsed.artifactType } : {}) };
  if (parsed.kind === 'image') {
    const image = await describeImage(storage, parsed.blobs, budget, configMaxBytes);
    return { ...base, kind: 'image', sizeBytes: manifest.bytes.length + sumDistinct(parsed.blobs), ...image };
  }

  // an index: itself, then each child (up to the limit) with its blobs, a shared blob once
  const declaredPlatforms = indexPlatforms(manifest.bytes);
  const blobs = new Map<string, number>();
  let sizeBytes = manifest.bytes.length;
  let createdAtMs: number | undefined;
  const platforms: Platform[] = [];
  const notes: string[] = [];
  const children = parsed.children.slice(0, MAX_INDEX_CHILDREN);
  if (parsed.children.length > children.length) notes.push(`${parsed.children.length - children.length} of ${parsed.children.length} children not counted`);
  for (const [i, child] of children.entries()) {
    const declared = declaredPlatforms[i];
    // attestations (buildx's unknown/unknown entries) are not a platform anyone runs
    const isAttestation = declared?.os === 'unknown' || child.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
    const bytes = await readManifestBounded(storage, repository, child.digest, budget);
    if (bytes === 'too-large' || !bytes) {
      notes.push(`child ${child.digest.text.slice(0, 19)}… not held here`);
      if (declared && !isAttestation) platforms.push(declared);
      continue;
    }
    sizeBytes += bytes.bytes.length;
    let childParsed;
    try {
      childParsed = parseManifest(bytes.bytes, bytes.mediaType);
    } catch {
      continue;
    }
    for (const blob of childParsed.blobs) blobs.set(blob.digest.text, blob.size);
    if (childParsed.kind !== 'image' || isAttestation) continue;
    const image = await describeImage(storage, childParsed.blobs, budget, configMaxBytes);
    if (image.createdAtMs !== undefined) createdAtMs = Math.max(createdAtMs ?? image.createdAtMs, image.createdAtMs);
    const platform = declared ?? image.platforms[0];
    if (platform) platforms.push(platform);
  }
  for (const size of blobs.values()) sizeBytes += size;
  return { ...base, kind: 'index', sizeBytes, ...(createdAtMs !== undefined ? { createdAtMs } : {}), platforms, ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
}

/** An image's created time and platform, from its config blob when that is an image config of sane size. */
async function describeImage(storage: Storage, blobs: Descriptor[], budget: Budget, configMaxBytes: number): Promise<{ createdAtMs?: number; platforms: Platform[]; note?: string }> {
  const config = blobs[0];
  if (!config || !IMAGE_CONFIG_TYPES.has(config.mediaType)) return { platforms: [] };
  const bytes = await readBounded(storage, config.digest, configMaxBytes, budget);
  if (bytes === 'too-large') return { platforms: [], note: `config larger than ${configMaxBytes} bytes: not read` };
  if (!bytes) return { platforms: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { platforms: [], note: 'the image config is not JSON' };
  }
  if (!isObject(doc)) return { platforms: [] };
  const created = typeof doc.created === 'string' ? Date.parse(doc.created) : NaN;
  const platform = platformOf(doc);
  return { ...(Number.isFinite(created) ? { createdAtMs: created } : {}), platforms: platform ? [platform] : [] };
}

/** The `platform` of each entry of an index's `manifests`, by position (parseManifest keeps none). */
function indexPlatforms(bytes: Buffer): Array<Platform | undefined> {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (!isObject(doc) || !Array.isArray(doc.manifests)) return [];
    return doc.manifests.map((m: unknown) => (isObject(m) && isObject(m.platform) ? platformOf(m.platform) : undefined));
  } catch {
    return [];
  }
}

function platformOf(o: Record<string, unknown>): Platform | undefined {
  if (typeof o.os !== 'string' || typeof o.architecture !== 'string') return undefined;
  // from a pushed document: kept short, as it is shown as is
  const clip = (s: string): string => s.slice(0, 64);
  return { os: clip(o.os), architecture: clip(o.architecture), ...(typeof o.variant === 'string' ? { variant: clip(o.variant) } : {}) };
}

function sumDistinct(blobs: Descriptor[]): number {
  const sizes = new Map<string, number>();
  for (const blob of blobs) sizes.set(blob.digest.text, blob.size);
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `work` over `items` with at most `limit` at a time, answers in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
