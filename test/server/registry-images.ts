// Images in a test server's registry, pushed the way a run's build pushes them: tagged in the local
// Docker engine under the server's registry host and pushed through the Engine API with a token,
// so the engine also knows them by digest and a deploy of `HOST/REPO@DIGEST` needs no pull.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { DockerImageBuilder } from '../../src/build/index.js';
import type { TestServer } from './support.js';

const run = promisify(execFile);

export interface PushedImage {
  /** HOST:PORT/REPOSITORY:TAG */
  reference: string;
  /** HOST:PORT/REPOSITORY@sha256:… */
  pinned: string;
  digest: string;
}

/** The registry host of a test server (`127.0.0.1:PORT`), as image references spell it. */
export const registryHostOf = (server: TestServer): string => new URL(server.url).host;

export async function pushLocalImage(server: TestServer, localImage: string, repository: string, tag: string): Promise<PushedImage> {
  const host = registryHostOf(server);
  const reference = `${host}/${repository}:${tag}`;
  const docker = new Docker();
  await docker.getImage(localImage).tag({ repo: `${host}/${repository}`, tag });
  const digest = await new DockerImageBuilder(docker).push(reference, { username: 'slipway', password: server.token, serveraddress: host }, () => undefined, new AbortController().signal);
  return { reference, pinned: `${host}/${repository}@${digest}`, digest };
}

/** Removes the engine's names of the pushed images (the image content stays for its other names). */
export async function forgetLocalImages(images: PushedImage[]): Promise<void> {
  const names = images.flatMap((i) => [i.reference, i.pinned]);
  if (names.length > 0) await run('docker', ['rmi', '--no-prune', ...names]).catch(() => undefined);
}
