// Repository names, tags and digests, checked against the OCI Distribution Spec's grammar before
// any of them reaches a filesystem path (so `..`, `/` tricks and odd bytes never do).
import { RegistryError } from './errors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Distribution's limit: names longer than this break path length limits on some filesystems. */
const NAME_MAX_LENGTH = 255;

/** The digest algorithms this registry computes, with the length of their hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex` as it appears on the wire. */
  readonly text: string;
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_RE.test(name);
}

export function checkName(name: string): string {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name });
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Parses a digest; a malformed one or an algorithm we do not compute is DIGEST_INVALID. */
export function parseDigest(text: string): Digest {
  const digest = tryParseDigest(text);
  if (!digest) throw new RegistryError('DIGEST_INVALID', { digest: text });
  return digest;
}

export function tryParseDigest(text: string): Digest | undefined {
  if (!DIGEST_RE.test(text)) return undefined;
  const colon = text.indexOf(':');
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!(algorithm in DIGEST_ALGORITHMS)) return undefined;
  const alg = algorithm as DigestAlgorithm;
  if (hex.length !== DIGEST_ALGORITHMS[alg] || !/^[0-9a-f]+$/.test(hex)) return undefined;
  return { algorithm: alg, hex, text };
}

/**
 * A manifest reference to write under (PUT): a tag, or a digest when it contains a colon. Anything
 * else is refused (MANIFEST_INVALID, 400): the spec allows only these two forms.
 */
export function parseReference(text: string): Reference {
  const ref = parseLookupReference(text);
  if (!ref) throw new RegistryError('MANIFEST_INVALID', { reference: text, reason: 'not a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) nor a digest' });
  return ref;
}

/**
 * A manifest reference to read or delete by: undefined when it is neither a tag nor a digest, since
 * no manifest can be stored under it (the caller answers 404 MANIFEST_UNKNOWN, as the spec and
 * distribution do). A malformed digest is still DIGEST_INVALID (400): it says what to fix.
 */
export function parseLookupReference(text: string): Reference | undefined {
  if (text.includes(':')) return { kind: 'digest', digest: parseDigest(text) };
  return isValidTag(text) ? { kind: 'tag', tag: text } : undefined;
}

/** An image reference as deploys name images: `[HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST]`. */
export interface ImageReference {
  /** the registry host, when the reference names one (docker's rule: a first component with `.` or `:`, or localhost) */
  host?: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** Parses an image reference; undefined when it is not one (or names an unsupported digest). */
export function parseImageReference(text: string): ImageReference | undefined {
  const at = text.indexOf('@');
  const digest = at === -1 ? undefined : tryParseDigest(text.slice(at + 1));
  if (at !== -1 && !digest) return undefined;
  let rest = at === -1 ? text : text.slice(0, at);
  let host: string | undefined;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) return undefined;
  }
  if (!isValidName(rest)) return undefined;
  return { ...(host !== undefined ? { host } : {}), repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}
