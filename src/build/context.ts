// The build context of an image: the part of the workspace snapshot under `context`, less what
// its .dockerignore excludes (the Dockerfile and .dockerignore always go, as with the docker CLI),
// streamed as a tar straight from the snapshot so nothing is unpacked on disk.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import * as tar from 'tar-stream';
import type { Ignore } from '@balena/dockerignore';

// the package is CommonJS whose typings claim a default export; load it as what it is
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (options?: { ignorecase?: boolean }) => Ignore;

export class BuildContextError extends Error {
  readonly code = 'BUILD_CONTEXT_INVALID';
}

function normalizeDir(dir: string): string {
  const normal = path.posix.normalize(dir.replace(/\/+$/, '')).replace(/^\.\/+/, '');
  if (normal.startsWith('..') || path.posix.isAbsolute(normal)) throw new BuildContextError(`build context '${dir}' leaves the workspace`);
  return normal === '.' ? '' : `${normal}/`;
}

function entryName(name: string): string {
  return name.replace(/^\.\//, '');
}

async function readEntry(sourceTar: string, wanted: string): Promise<string | undefined> {
  const extract = tar.extract();
  let found: string | undefined;
  extract.on('entry', (header, stream, next) => {
    if (entryName(header.name) === wanted && header.type === 'file') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        found = Buffer.concat(chunks).toString('utf8');
        next();
      });
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  await pipeline(createReadStream(sourceTar), extract);
  return found;
}

/** Lists the files of the snapshot (for checks before a build starts). */
export async function listEntries(sourceTar: string): Promise<Set<string>> {
  const names = new Set<string>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    names.add(entryName(header.name));
    stream.on('end', next);
    stream.resume();
  });
  await pipeline(createReadStream(sourceTar), extract);
  return names;
}

/**
 * A tar stream of the build context. Throws before streaming when the Dockerfile is missing, so
 * the error names the file instead of failing inside the engine.
 */
export async function buildContext(sourceTar: string, contextDir: string, dockerfile: string): Promise<Readable> {
  const prefix = normalizeDir(contextDir);
  const dockerfilePath = path.posix.normalize(dockerfile);
  if (dockerfilePath.startsWith('..') || path.posix.isAbsolute(dockerfilePath)) {
    throw new BuildContextError(`dockerfile '${dockerfile}' must be a path inside the build context`);
  }
  const entries = await listEntries(sourceTar);
  if (!entries.has(prefix + dockerfilePath)) {
    throw new BuildContextError(`no ${dockerfilePath} in the build context '${contextDir}' (looked for ${prefix + dockerfilePath} in the workspace)`);
  }
  const ignoreText = await readEntry(sourceTar, `${prefix}.dockerignore`);
  const ignore = dockerignore({ ignorecase: false });
  if (ignoreText) ignore.add(ignoreText.split(/\r?\n/));
  const alwaysSent = new Set([dockerfilePath, '.dockerignore']);

  const out = new PassThrough();
  const pack = tar.pack();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = entryName(header.name);
    const relative = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
    if (relative === undefined || relative === '' || (!alwaysSent.has(relative) && ignore.ignores(relative))) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const copy = pack.entry({ ...header, name: relative }, (err) => next(err ?? undefined));
    stream.pipe(copy);
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err) => out.destroy(err));
  pack.on('error', (err) => out.destroy(err));
  createReadStream(sourceTar).pipe(extract);
  pack.pipe(out);
  return out;
}
