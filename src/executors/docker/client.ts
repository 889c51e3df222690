// Connects to the Docker Engine API and negotiates the API version: the highest version both this
// client and the engine speak (the engine here is Debian's 20.10 at API 1.41).
import Docker from 'dockerode';
import { ExecutorError } from '../types.js';

/** The newest Engine API version Slipway has been written against. */
const MAX_API_VERSION = '1.45';
const MIN_API_VERSION = '1.40';

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

let shared: Promise<Docker> | undefined;

/** One negotiated client per process. */
export function connectDocker(): Promise<Docker> {
  shared ??= negotiate().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

async function negotiate(): Promise<Docker> {
  const probe = new Docker();
  let serverVersion: string;
  try {
    const info = await probe.version();
    serverVersion = info.ApiVersion;
  } catch (err) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    throw new ExecutorError(
      'EXECUTOR_ENGINE_UNREACHABLE',
      `the Docker engine at ${where} does not answer (${(err as Error).message}); start it (scripts/setup.sh does) or set DOCKER_HOST`,
    );
  }
  if (compareVersions(serverVersion, MIN_API_VERSION) < 0) {
    throw new ExecutorError(
      'EXECUTOR_ENGINE_UNREACHABLE',
      `the Docker engine speaks API ${serverVersion}; Slipway needs ${MIN_API_VERSION} or newer`,
    );
  }
  const version = compareVersions(serverVersion, MAX_API_VERSION) < 0 ? serverVersion : MAX_API_VERSION;
  return new Docker({ version: `v${version}` });
}
