// Builds and pushes images through the Docker Engine API (the engine's classic builder where it
// has no BuildKit for API clients), turning its JSON progress stream into log lines.
import type Docker from 'dockerode';
import { BuildError, type BuildRequest, type ImageBuilder, type RegistryCredentials } from './types.js';

interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
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
  constructor(private readonly docker: Docker) {}

  async build(request: BuildRequest, onLine: (line: string) => void, signal: AbortSignal): Promise<string> {
    const stream = await this.docker.buildImage(request.context as unknown as NodeJS.ReadableStream, {
      dockerfile: request.dockerfile,
      t: request.tags,
      buildargs: request.args,
      labels: request.labels,
      rm: true,
      forcerm: true,
      ...(request.target ? { target: request.target } : {}),
      abortSignal: signal,
      // several `t` make several tags; the typings allow only one
    } as unknown as Docker.ImageBuildOptions);
    let imageId: string | undefined;
    let error: string | undefined;
    let partial = '';
    await readProgress(stream, (m) => {
      if (m.stream) {
        const text = partial + m.stream;
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onLine(line.replace(/\r$/, ''));
      }
      if (m.aux?.ID) imageId = m.aux.ID;
      if (m.error) error = m.errorDetail?.message ?? m.error;
    });
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
      if (m.aux?.Digest) digest = m.aux.Digest;
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
