// The CLI's client of a Slipway server: the URL and token from SLIPWAY_URL / SLIPWAY_TOKEN, JSON
// requests, Server-Sent Events that resume after a dropped connection, and the errors users see
// (`slipway CMD: <status>: <message>`, mapped to exit codes once, in main.ts).
import { UsageError, type CliIO } from './io.js';
import { RemoteError } from './remote-error.js';
import { ApiClient, pathOf, type CallInput, type ResponseOf, type RouteName } from '../api/index.js';

export { RemoteError } from './remote-error.js';

/**
 * Whether a deploy command goes to a server: `--remote`, or SLIPWAY_URL set without `--local`.
 * (`slipway run` is the exception: SLIPWAY_URL only names its registry there; it needs --remote.)
 */
export function isRemote(io: CliIO, flags: { remote?: boolean | undefined; local?: boolean | undefined }): boolean {
  if (flags.remote && flags.local) throw new UsageError('--remote and --local exclude each other');
  if (flags.local) return false;
  return flags.remote === true || Boolean(io.env.SLIPWAY_URL);
}

export interface ServerEvent {
  event: string;
  data: string;
  id?: string;
}

const RECONNECT_ATTEMPTS = 20;
const RECONNECT_DELAY_MS = 1000;

export class RemoteClient {
  private constructor(
    readonly url: string,
    private readonly token: string,
    private readonly io: CliIO,
    private readonly command: string,
  ) {}

  /** The server of SLIPWAY_URL with SLIPWAY_TOKEN; a UsageError (exit 2) says which is missing. */
  static fromEnv(io: CliIO, command: string): RemoteClient {
    const url = io.env.SLIPWAY_URL;
    if (!url) throw new UsageError('SLIPWAY_URL is not set: the server to talk to, e.g. SLIPWAY_URL=http://127.0.0.1:7700');
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new UsageError(`SLIPWAY_URL '${url}' is not an http(s) URL such as http://127.0.0.1:7700`);
    }
    const token = io.env.SLIPWAY_TOKEN;
    if (!token) throw new UsageError('SLIPWAY_TOKEN is not set (the server printed an admin token at its first start; `slipway token create` makes more)');
    return new RemoteClient(url.replace(/\/+$/, ''), token, io, command);
  }

  private async fetch(pathname: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${pathname}`, { ...init, headers: { Authorization: `Bearer ${this.token}`, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      throw new RemoteError(0, 'UNREACHABLE', `cannot reach the server at ${this.url} (SLIPWAY_URL): ${networkReason(err)}`);
    }
  }

  private async failure(res: Response): Promise<RemoteError> {
    const text = await res.text().catch(() => '');
    let body: { error?: { code?: string; message?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not one of our JSON errors (a proxy in between): its text is the best there is
    }
    return new RemoteError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? (text.trim().slice(0, 200) || res.statusText));
  }

  /** One JSON request; the answer's body, or a RemoteError. */
  private async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', pathname: string, body?: unknown): Promise<unknown> {
    const res = await this.fetch(pathname, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
    });
    if (!res.ok) throw await this.failure(res);
    return res.json();
  }

  private readonly api = new ApiClient((method, path, body) => this.request(method, path, body));

  /** A route of the API contract, typed by its schemas; a refusal is a RemoteError. */
  call<N extends RouteName>(name: N, input?: CallInput<N>): Promise<ResponseOf<N>> {
    return this.api.call(name, input);
  }

  /** The path of a route, for `follow` (its Server-Sent Events). */
  pathOf<N extends RouteName>(name: N, input: CallInput<N>): string {
    return pathOf(name, input as { params?: object; query?: object });
  }

  /**
   * Runs `follow` (the following of a run or rollout) with Ctrl-C bound to a cancel on the server:
   * the first sends POST `cancelPath` and following goes on until the thing has stopped; a second
   * stops following (exit 130).
   */
  async cancelOnInterrupt<T>(what: string, cancel: () => Promise<unknown>, follow: () => Promise<T>): Promise<T> {
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      this.io.stderr.write(`cancelling ${what} on the server (again to stop following)\n`);
      void cancel().catch((err: unknown) => this.io.stderr.write(`slipway ${this.command}: the cancel was refused: ${(err as Error).message}\n`));
    };
    process.on('SIGINT', onSigint);
    try {
      return await follow();
    } finally {
      process.off('SIGINT', onSigint);
    }
  }

  /**
   * Reads the Server-Sent Events of `pathname` until `handle` returns true. A dropped connection
   * is resumed after the last event id seen (Last-Event-ID), a number of times, with a note on
   * stderr; a refusal (4xx/5xx) ends it with a RemoteError.
   */
  async follow(pathname: string, handle: (event: ServerEvent) => boolean | void, lastEventId = 0): Promise<void> {
    let last = lastEventId;
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      try {
        const res = await this.fetch(pathname, { headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(last) } });
        if (!res.ok) throw await this.failure(res);
        if (!res.body) throw new RemoteError(0, 'UNREACHABLE', 'the server answered without a body');
        let buffer = '';
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (event) {
              if (event.id !== undefined && Number.isFinite(Number(event.id))) last = Number(event.id);
              let done: boolean | void;
              try {
                done = handle(event);
              } catch (err) {
                // the handler's own failure is not a dropped connection: never retried
                throw new HandlerError(err);
              }
              if (done === true) return;
            }
            end = buffer.indexOf('\n\n');
          }
        }
        problem = 'the server closed the stream';
      } catch (err) {
        if (err instanceof HandlerError) throw err.cause;
        if (err instanceof RemoteError && err.status !== 0) throw err;
        problem = err instanceof RemoteError ? err.message : networkReason(err);
      }
      if (attempt + 1 >= RECONNECT_ATTEMPTS) throw new RemoteError(0, 'UNREACHABLE', `lost the server at ${this.url} (SLIPWAY_URL) ${RECONNECT_ATTEMPTS} times: ${problem}`);
      this.io.stderr.write(`slipway ${this.command}: connection lost (${problem}); resuming after event ${last}\n`);
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    }
  }
}

class HandlerError extends Error {
  constructor(override readonly cause: unknown) {
    super('event handler failed');
  }
}

function parseEvent(message: string): ServerEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  let id: string | undefined;
  for (const line of message.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (data.length === 0 && id === undefined) return undefined;
  return { event, data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
}

/** "connection refused" rather than node's "fetch failed". */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the connection timed out';
    default:
      return cause?.message ?? (err as Error).message;
  }
}

/** The project a command is about: `--project`, else the name in ./slipway.yaml. */
export async function projectNameFor(io: CliIO, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const { loadPipeline } = await import('../spec/index.js');
  const { resolve } = await import('node:path');
  const loaded = await loadPipeline(resolve(io.cwd, 'slipway.yaml')).catch(() => undefined);
  const name = loaded?.pipeline?.name;
  if (name === undefined) throw new UsageError('--project NAME is needed: ./slipway.yaml does not give the project\'s name');
  return name;
}
