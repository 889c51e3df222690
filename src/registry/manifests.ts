// Manifests: which media types the registry accepts, how a pushed manifest is checked (parses,
// has the shape its media type promises, references only content the repository holds) and
// what it points at (gc's mark phase and the referrers index read the same parse).
import { RegistryError } from './errors.js';
import { tryParseDigest, type Digest } from './names.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

/** Layers a registry is not expected to hold (they are fetched from their `urls`). */
const FOREIGN_LAYER_TYPES = new Set<string>([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** The spec's recommended lower bound on what a registry accepts; larger ones are refused. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs the manifest needs in the repository: config and layers (foreign layers excluded). */
  blobs: Descriptor[];
  /** Manifests an index lists. */
  children: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Parses a pushed manifest. `contentType` is the request's Content-Type; the body's own
 * `mediaType`, when present, must agree with it (spec: registries should reject a mismatch).
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('not a JSON object');
  const headerType = contentType?.split(';')[0]?.trim();
  const bodyType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (doc.schemaVersion === 1 || headerType?.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new RegistryError('MANIFEST_INVALID', 'Docker schema 1 manifests are not supported; push schema 2 or OCI');
  }
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  if (bodyType && headerType && headerType !== 'application/json' && bodyType !== headerType) {
    throw invalid(`mediaType ${bodyType} does not match Content-Type ${headerType}`);
  }
  const mediaType =
    bodyType ??
    (headerType && headerType !== 'application/json' ? headerType : undefined) ??
    (Array.isArray(doc.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);

  const parsed: ParsedManifest = { mediaType, kind: 'image', blobs: [], children: [] };
  if (typeof doc.artifactType === 'string') parsed.artifactType = doc.artifactType;
  if (isObject(doc.annotations)) parsed.annotations = stringMap(doc.annotations);
  if (doc.subject !== undefined) parsed.subject = descriptor(doc.subject, 'subject');

  if (INDEX_TYPES.has(mediaType) || (!IMAGE_TYPES.has(mediaType) && Array.isArray(doc.manifests))) {
    parsed.kind = 'index';
    if (!Array.isArray(doc.manifests)) throw invalid('an index needs a manifests array');
    parsed.children = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
    return parsed;
  }
  if (!IMAGE_TYPES.has(mediaType) && !isObject(doc.config)) {
    throw invalid(`unsupported manifest media type ${mediaType}`);
  }
  const config = descriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('an image manifest needs a layers array');
  const layers = doc.layers.map((l, i) => descriptor(l, `layers[${i}]`));
  parsed.blobs = [config, ...layers.filter((l) => !FOREIGN_LAYER_TYPES.has(l.mediaType))];
  // OCI 1.1 (referrers): an image manifest without artifactType is described by its config's type
  if (parsed.artifactType === undefined) {
    parsed.artifactType = config.mediaType;
  }
  return parsed;
}

/** Everything a stored manifest references by digest: for gc's mark phase. */
export function referencedDigests(m: ParsedManifest): Digest[] {
  const out = [...m.blobs, ...m.children].map((d) => d.digest);
  if (m.subject) out.push(m.subject.digest);
  return out;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} is not a descriptor`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType missing`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest missing`);
  const d = tryParseDigest(digest);
  if (!d) throw new RegistryError('MANIFEST_INVALID', { reason: `${where}.digest is not a supported digest`, digest });
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size invalid`);
  const out: Descriptor = { mediaType, digest: d, size };
  if (typeof value.artifactType === 'string') out.artifactType = value.artifactType;
  if (isObject(value.annotations)) out.annotations = stringMap(value.annotations);
  if (Array.isArray(value.urls)) out.urls = value.urls.filter((u): u is string => typeof u === 'string');
  return out;
}

function stringMap(o: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(reason: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', reason);
}

/** A descriptor as JSON on the wire (the referrers response). */
export function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest.text, size: d.size };
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  if (d.annotations !== undefined) out.annotations = d.annotations;
  return out;
}
