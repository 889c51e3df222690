// The content-addressed store: blobs, per-repository links, tags and the referrers index, on the
// filesystem. Every change a reader can see is made by one rename (or one link file creation),
// so a reader never sees half a blob or half a tag, and concurrent writers of the same content
// simply replace identical bytes.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tryParseDigest, type Digest } from './names.js';
import { RegistryPaths } from './paths.js';

export class Storage {
  readonly paths: RegistryPaths;

  constructor(
    dataDir: string,
    /** told of each repository whose tags or manifests changed (the web UI's registry page follows it) */
    private readonly onChange: (repository: string) => void = () => undefined,
  ) {
    this.paths = new RegistryPaths(dataDir);
  }

  // --- blobs ----------------------------------------------------------------------------------

  /** The blob's size, or undefined when the registry does not hold it at all. */
  async blobSize(d: Digest): Promise<number | undefined> {
    const st = await statOrUndefined(this.paths.blob(d));
    return st?.isFile() ? st.size : undefined;
  }

  /** Moves a verified file into the content store: the blob becomes visible in one rename. */
  async commitBlob(verifiedFile: string, d: Digest): Promise<void> {
    const target = this.paths.blob(d);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(verifiedFile, target);
  }

  /** Writes small content (a manifest) into the store, through a temporary file and a rename. */
  async writeBlob(d: Digest, bytes: Buffer): Promise<void> {
    const target = this.paths.blob(d);
    if ((await this.blobSize(d)) === bytes.length) {
      await touch(target);
      return;
    }
    await writeAtomic(target, bytes);
  }

  async readBlob(d: Digest): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.paths.blob(d));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Marks a blob as just used, so that a gc running meanwhile (which spares blobs younger than its
   * grace period) does not remove a blob a push is about to reference.
   */
  async touchBlob(d: Digest): Promise<void> {
    await touch(this.paths.blob(d));
  }

  // --- repository links -----------------------------------------------------------------------

  /** The size of a blob visible in the repository (linked there, content present). */
  async layerSize(name: string, d: Digest): Promise<number | undefined> {
    if (!(await exists(this.paths.layerLink(name, d))) && !(await exists(this.paths.revisionLink(name, d)))) {
      return undefined;
    }
    return this.blobSize(d);
  }

  async linkLayer(name: string, d: Digest): Promise<void> {
    await writeLink(this.paths.layerLink(name, d), '');
  }

  /** Removes the blob from the repository; its content stays until gc finds nothing uses it. */
  async unlinkLayer(name: string, d: Digest): Promise<boolean> {
    return removeFile(this.paths.layerLink(name, d));
  }

  async listLayerLinks(name: string): Promise<Digest[]> {
    return listDigests(this.paths.layerLinks(name));
  }

  // --- manifests ------------------------------------------------------------------------------

  /** The manifest's stored media type and bytes, when it is visible in the repository. */
  async readManifest(name: string, d: Digest): Promise<{ mediaType: string; bytes: Buffer } | undefined> {
    const mediaType = await this.manifestMediaType(name, d);
    if (mediaType === undefined) return undefined;
    const bytes = await this.readBlob(d);
    return bytes ? { mediaType, bytes } : undefined;
  }

  /** The media type the manifest was pushed with, when it is linked in the repository (its bytes unread). */
  async manifestMediaType(name: string, d: Digest): Promise<string | undefined> {
    try {
      return await fs.readFile(this.paths.revisionLink(name, d), 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async linkManifest(name: string, d: Digest, mediaType: string): Promise<void> {
    await writeLink(this.paths.revisionLink(name, d), mediaType);
  }

  async unlinkManifest(name: string, d: Digest): Promise<boolean> {
    const removed = await removeFile(this.paths.revisionLink(name, d));
    if (removed) this.onChange(name);
    return removed;
  }

  async listManifests(name: string): Promise<Digest[]> {
    return listDigests(this.paths.revisionLinks(name));
  }

  // --- tags -----------------------------------------------------------------------------------

  async resolveTag(name: string, tag: string): Promise<Digest | undefined> {
    try {
      return tryParseDigest((await fs.readFile(this.paths.tag(name, tag), 'utf8')).trim());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Points a tag at a digest; the last of two concurrent writers wins, never a mix of both. */
  async writeTag(name: string, tag: string, d: Digest): Promise<void> {
    await writeAtomic(this.paths.tag(name, tag), d.text);
    this.onChange(name);
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const removed = await removeFile(this.paths.tag(name, tag));
    if (removed) this.onChange(name);
    return removed;
  }

  /** The repository's tags, sorted; undefined when the repository does not exist. */
  async listTags(name: string): Promise<string[] | undefined> {
    if (!(await exists(this.paths.repository(name)))) return undefined;
    try {
      return (await fs.readdir(this.paths.tags(name))).filter((t) => !t.startsWith('.')).sort();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async repositoryExists(name: string): Promise<boolean> {
    return exists(this.paths.repository(name));
  }

  // --- referrers ------------------------------------------------------------------------------

  async linkReferrer(name: string, subject: Digest, referrer: Digest): Promise<void> {
    await writeLink(this.paths.referrerLink(name, subject, referrer), '');
  }

  async unlinkReferrer(name: string, subject: Digest, referrer: Digest): Promise<void> {
    await removeFile(this.paths.referrerLink(name, subject, referrer));
  }

  async listReferrers(name: string, subject: Digest): Promise<Digest[]> {
    return listDigests(this.paths.referrers(name, subject));
  }

  // --- catalog --------------------------------------------------------------------------------

  /** Every repository name, sorted (a folder is a repository once it holds one of `_…` folders). */
  async listRepositories(): Promise<string[]> {
    const names: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers'))) {
        names.push(prefix);
      }
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_')) {
          await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
        }
      }
    };
    await walk(this.paths.repositoriesRoot(), '');
    return names.sort();
  }
}

// --- filesystem helpers -----------------------------------------------------------------------

export async function writeAtomic(target: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  // a unique temporary name per writer, so two concurrent writers never share a half-written file;
  // it starts with '.', which no tag, digest or name component can, so listings never show it
  const tmp = path.join(path.dirname(target), `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** A link is small, so writing it via temp + rename costs little and is never seen torn. */
async function writeLink(target: string, content: string): Promise<void> {
  await writeAtomic(target, content);
}

async function listDigests(dir: string): Promise<Digest[]> {
  const out: Digest[] = [];
  let algorithms: string[];
  try {
    algorithms = await fs.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return out;
    throw err;
  }
  for (const alg of algorithms) {
    let entries: string[];
    try {
      entries = await fs.readdir(path.join(dir, alg));
    } catch (err) {
      if (isNotFound(err) || isNotDir(err)) continue;
      throw err;
    }
    for (const hex of entries) {
      const d = tryParseDigest(`${alg}:${hex}`);
      if (d) out.push(d);
    }
  }
  return out;
}

export async function statOrUndefined(p: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fs.stat(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function exists(p: string): Promise<boolean> {
  return (await statOrUndefined(p)) !== undefined;
}

async function removeFile(p: string): Promise<boolean> {
  try {
    await fs.unlink(p);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function touch(p: string): Promise<void> {
  const now = new Date();
  try {
    await fs.utimes(p, now, now);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function isNotDir(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOTDIR';
}
