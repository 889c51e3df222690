// Image builds: the interface the engine uses, so the same engine can build through the local
// Docker engine or, later, elsewhere.
import type { Readable } from 'node:stream';

export interface BuildRequest {
  context: Readable;
  dockerfile: string;
  /** full references to tag the result with (`registry/repo:tag`) */
  tags: string[];
  args: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
}

export interface RegistryCredentials {
  username: string;
  password: string;
  serveraddress: string;
}

export interface ImageBuilder {
  /** builds the image; resolves with its ID (`sha256:…`) */
  build(request: BuildRequest, onLine: (line: string) => void, signal: AbortSignal): Promise<string>;
  /** pushes a tagged reference; resolves with the manifest digest the registry stored */
  push(reference: string, credentials: RegistryCredentials | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<string>;
}

export class BuildError extends Error {
  constructor(
    readonly code: 'BUILD_FAILED' | 'BUILD_PUSH_FAILED' | 'BUILD_CONTEXT_INVALID',
    message: string,
  ) {
    super(message);
  }
}
