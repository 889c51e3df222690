// Builds and pushes images through the Docker Engine API — with BuildKit where the engine offers
// it to API clients (Linux engines of API 1.39 and later), else with its classic builder — turning
// its JSON progress stream into log lines.
import type Docker from 'dockerode';
import { decodeStatusResponse, TraceRenderer } from './buildkit-trace.js';
import { BuildError, type BuildRequest, type ImageBuilder, type RegistryCredentials } from './types.js';

/** `buildkit`, `classic`, or `auto`: BuildKit when the engine offers it. */
export type BuilderChoice = 'auto' | 'buildkit' | 'classic';

/** The docker CLI's switch, honoured the same way: DOCKER_BUILDKIT=0 asks for the classic builder. */
function builderFromEnv(env: NodeJS.ProcessEnv): BuilderChoice {
  const value = env.DOCKER_BUILDKIT?.trim().toLowerCase();
  if (value === undefined || value === '') return 'auto';
  return value === '0' || value === 'false' ? 'classic' : 'buildkit';
}

/** The first Engine API version whose build endpoint takes `version=2` (BuildKit): Docker 18.09. */
const BUILDKIT_API = [1, 39];

interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  /** BuildKit's trace messages carry a base64 protobuf string here */
  aux?: string | { ID?: string; Digest?: string; Tag?: string };
}

/** Reads the engine's newline-delimited JSON progress messages. */
async function readProgress(stream: NodeJS.ReadableStream, onMessage: (m: ProgressMessage) => void): Promise<void> {
  let buffered = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    buffered += chunk.toString('utf8');
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) onMessage(JSON.parse(line) as ProgressMessage);
      newline = buffered.indexOf('\n');
    }
  }
  if (buffered.trim()) onMessage(JSON.parse(buffered) as ProgressMessage);
}

export class DockerImageBuilder implements ImageBuilder {
  private buildKit: Promise<boolean> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly choice: BuilderChoice = builderFromEnv(process.env),
  ) {}

  /** Whether builds go through BuildKit: asked of the engine once. */
  private usesBuildKit(): Promise<boolean> {
    this.buildKit ??= (async () => {
      if (this.choice !== 'auto') return this.choice === 'buildkit';
      const version = await this.docker.version();
      const api = (version.ApiVersion ?? '0').split('.').map(Number);
      const recentEnough = (api[0] ?? 0) > (BUILDKIT_API[0] as number) || ((api[0] ?? 0) === BUILDKIT_API[0] && (api[1] ?? 0) >= (BUILDKIT_API[1] as number));
      return version.Os === 'linux' && recentEnough;
    })();
    return this.buildKit;
  }

  async build(request: BuildRequest, onLine: (line: string) => void, signal: AbortSignal): Promise<string> {
    const buildKit = await this.usesBuildKit();
    onLine(buildKit ? 'building with BuildKit' : "building with the engine's classic builder");
    const stream = await this.docker.buildImage(request.context as unknown as NodeJS.ReadableStream, {
      dockerfile: request.dockerfile,
      t: request.tags,
      buildargs: request.args,
      labels: request.labels,
      rm: true,
      forcerm: true,
      ...(request.target ? { target: request.target } : {}),
      // A number, not dockerode's '2': for the string it first opens a BuildKit session (gRPC over
      // a hijacked connection) to serve files and credentials; these builds upload their context
      // and ask for no credentials, so the query parameter alone is what they need.
      ...(buildKit ? { version: 2 } : {}),
      abortSignal: signal,
      // several `t` make several tags; the typings allow only one
    } as unknown as Docker.ImageBuildOptions);
    let imageId: string | undefined;
    let error: string | undefined;
    let partial = '';
    const trace = new TraceRenderer(onLine);
    let unreadableTrace = false;
    await readProgress(stream, (m) => {
      if (m.id === 'moby.buildkit.trace' && typeof m.aux === 'string') {
        try {
          trace.render(decodeStatusResponse(m.aux));
        } catch (err) {
          // progress only: a message this decoder cannot read must not fail the build
          if (!unreadableTrace) onLine(`(a BuildKit progress message could not be read: ${(err as Error).message})`);
          unreadableTrace = true;
        }
        return;
      }
      if (m.stream) {
        const text = partial + m.stream;
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onLine(line.replace(/\r$/, ''));
      }
      if (typeof m.aux === 'object' && m.aux.ID) imageId = m.aux.ID;
      if (m.error) error = m.errorDetail?.message ?? m.error;
    });
    trace.end();
    if (partial.trim()) onLine(partial);
    signal.throwIfAborted();
    if (error) throw new BuildError('BUILD_FAILED', error.trim());
    if (!imageId) {
      // the classic builder only says "Successfully built <short id>"; ask for the full ID
      const first = request.tags[0];
      if (!first) throw new BuildError('BUILD_FAILED', 'the engine reported no image ID');
      imageId = (await this.docker.getImage(first).inspect()).Id;
    }
    return imageId;
  }

  async push(reference: string, credentials: RegistryCredentials | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<string> {
    const stream = await this.docker.getImage(reference).push({
      ...(credentials ? { authconfig: credentials } : {}),
      abortSignal: signal,
    } as Docker.ImagePushOptions);
    let digest: string | undefined;
    let error: string | undefined;
    const seen = new Map<string, string>();
    await readProgress(stream, (m) => {
      if (m.error) error = m.errorDetail?.message ?? m.error;
      if (typeof m.aux === 'object' && m.aux.Digest) digest = m.aux.Digest;
      // one line per layer state change, not per progress tick
      if (m.status && m.id && seen.get(m.id) !== m.status) {
        seen.set(m.id, m.status);
        onLine(`${m.id}: ${m.status}`);
      } else if (m.status && !m.id) {
        onLine(m.status);
      }
    });
    signal.throwIfAborted();
    if (error) throw new BuildError('BUILD_PUSH_FAILED', `pushing ${reference} failed: ${error.trim()}`);
    if (!digest) throw new BuildError('BUILD_PUSH_FAILED', `the registry reported no digest for ${reference}`);
    return digest;
  }
}
