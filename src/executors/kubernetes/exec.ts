// One command in a container of a Pod, over the exec WebSocket of the API server (client-node's
// Exec). Its own channel handling, because client-node's writes to stdout/stderr ignore
// backpressure, and its stdin, once ended, closes the socket (on the v4 protocol, which servers
// before 1.30 speak, there is no other way to say EOF) and so loses the exit code. Here:
// - stdout/stderr are written as they come; when a destination is full the socket pauses until
//   it drains (TCP then slows the sender down);
// - stdin sends exactly `length` bytes, each frame once the previous one is on the wire, and is
//   never closed: the command must stop reading after `length` bytes itself (`head -c`);
// - the exit code comes from the status channel (V1Status).
import { PassThrough, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { ExecutorError } from '../types.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const FRAME = 64 * 1024;

/** The part of the `ws` WebSocket that is used here. */
interface ExecSocket {
  readonly protocol: string;
  send(data: Buffer, callback: (err?: Error) => void): void;
  pause(): void;
  resume(): void;
  terminate(): void;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

export interface PodExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdout?: Writable;
  stderr?: Writable;
  /** exactly `length` bytes for the command's stdin (which is never closed) */
  stdin?: { stream: NodeJS.ReadableStream; length: number };
  /** abort: the socket is dropped and the call rejects with the signal's reason */
  signal?: AbortSignal;
  /** the call rejects with an ExecutorError when the command runs longer */
  timeoutMs?: number;
}

/** The command's exit code. The remote command is not killed by an abort or a timeout. */
export function podExec(kubeConfig: KubeConfig, request: PodExecRequest): Promise<number> {
  request.signal?.throwIfAborted();
  return new Promise<number>((resolve, reject) => new ExecCall(request, resolve, reject).start(kubeConfig));
}

/** One exec: its socket, the destinations it waits for, and how it ends (once). */
class ExecCall {
  private socket?: ExecSocket;
  private settled = false;
  private readonly blocked = new Set<Writable>();
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly request: PodExecRequest,
    private readonly resolve: (code: number) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  start(kubeConfig: KubeConfig): void {
    const { signal, timeoutMs } = this.request;
    if (signal) {
      const onAbort = (): void => this.fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (timeoutMs !== undefined) {
      const what = this.request.command.join(' ').slice(0, 200);
      const timer = setTimeout(() => this.fail(new ExecutorError('EXECUTOR_FAILED', `'${what}' did not finish within ${timeoutMs} ms`)), timeoutMs);
      this.cleanups.push(() => clearTimeout(timer));
    }
    this.connect(kubeConfig).then(
      (socket) => this.opened(socket),
      (err: unknown) => this.fail(connectError(err, this.request)),
    );
  }

  private connect(kubeConfig: KubeConfig): Promise<ExecSocket> {
    const exec = new Exec(kubeConfig);
    const inner = exec.handler;
    exec.handler = { connect: (path, textHandler) => inner.connect(path, textHandler, (channel, data) => this.onMessage(channel, data)) };
    // Exec only looks at whether there are streams (for the query) and whether stdout is a
    // terminal: the channels are handled in onMessage, so it gets stand-ins. Always stdout and
    // stderr: the API refuses an exec without any stream.
    const placeholder = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const { namespace, pod, container, command, stdin } = this.request;
    return exec
      .exec(namespace, pod, container, command, placeholder(), placeholder(), stdin ? new PassThrough() : null, false)
      .then((ws: unknown) => ws as ExecSocket);
  }

  private opened(socket: ExecSocket): void {
    this.socket = socket;
    if (this.settled) {
      socket.terminate();
      return;
    }
    if (this.blocked.size > 0) socket.pause();
    socket.on('error', () => undefined);
    socket.on('close', () =>
      this.fail(new ExecutorError('EXECUTOR_FAILED', `the connection to pod ${this.request.pod} closed before the command finished (was the pod deleted?)`)),
    );
    const stdin = this.request.stdin;
    if (stdin) {
      sendStdin(socket, stdin.stream, stdin.length, () => this.settled).catch((err: unknown) =>
        this.fail(err instanceof ExecutorError ? err : new ExecutorError('EXECUTOR_FAILED', `sending input to pod ${this.request.pod}: ${(err as Error).message}`)),
      );
    }
  }

  /** Whether the socket is to stay open. */
  private onMessage(channel: number, data: Buffer): boolean {
    if (channel === STDOUT) this.write(this.request.stdout, data);
    else if (channel === STDERR) this.write(this.request.stderr, data);
    else if (channel === STATUS) {
      this.settle(() => exitCodeOf(parseStatus(data), this.request));
      return false;
    }
    return true;
  }

  /** Writes on; when `target` is full, the socket pauses until every full destination drains. */
  private write(target: Writable | undefined, data: Buffer): void {
    if (!target || data.length === 0 || this.settled) return;
    if (target.write(data) || this.blocked.has(target)) return;
    this.blocked.add(target);
    this.socket?.pause();
    const unblock = (): void => {
      target.off('drain', unblock);
      target.off('close', unblock);
      this.blocked.delete(target);
      if (this.blocked.size === 0) this.socket?.resume();
    };
    target.on('drain', unblock);
    target.on('close', unblock);
  }

  private settle(outcome: () => number): void {
    if (this.settled) return;
    this.settled = true;
    for (const cleanup of this.cleanups) cleanup();
    try {
      this.resolve(outcome());
    } catch (err) {
      this.socket?.terminate();
      this.reject(err);
    }
  }

  private fail(err: unknown): void {
    this.settle(() => {
      throw err;
    });
  }
}

async function sendStdin(socket: ExecSocket, stream: NodeJS.ReadableStream, length: number, stopped: () => boolean): Promise<void> {
  let sent = 0;
  try {
    for await (const chunk of stream) {
      if (stopped()) return;
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (sent + data.length > length) throw new ExecutorError('EXECUTOR_FAILED', `the input is longer than the ${length} bytes announced`);
      for (let offset = 0; offset < data.length; offset += FRAME) {
        const part = data.subarray(offset, offset + FRAME);
        const frame = Buffer.allocUnsafe(part.length + 1);
        frame[0] = STDIN;
        part.copy(frame, 1);
        await new Promise<void>((resolve, reject) => socket.send(frame, (err) => (err ? reject(err) : resolve())));
        if (stopped()) return;
      }
      sent += data.length;
    }
  } finally {
    (stream as { destroy?: () => void }).destroy?.();
  }
  if (sent !== length) throw new ExecutorError('EXECUTOR_FAILED', `the input ended after ${sent} of the ${length} bytes announced`);
}

function parseStatus(data: Buffer): V1Status {
  try {
    return JSON.parse(data.toString('utf8')) as V1Status;
  } catch {
    return { status: 'Failure', message: `unreadable exec status: ${data.toString('utf8').slice(0, 200)}` };
  }
}

/** Success → 0; NonZeroExitCode → its code; any other failure (no such command…) → an error. */
export function exitCodeOf(status: V1Status, request: Pick<PodExecRequest, 'pod' | 'container'>): number {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  // the message may quote the whole command (the script): only its start is kept
  const message = (status.message ?? status.reason ?? 'unknown failure').slice(0, 300);
  throw new ExecutorError('EXECUTOR_FAILED', `exec in container ${request.container} of pod ${request.pod} failed: ${message}`);
}

function connectError(err: unknown, request: PodExecRequest): ExecutorError {
  if (err instanceof ExecutorError) return err;
  // before the socket opens, ws reports an ErrorEvent whose `error` is the Error
  const cause = (err as { error?: unknown } | undefined)?.error ?? err;
  const message = cause instanceof Error ? cause.message : String((cause as { message?: unknown } | undefined)?.message ?? cause);
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT)$/.test(code)) {
    return new ExecutorError('EXECUTOR_ENGINE_UNREACHABLE', `cannot reach the Kubernetes API to exec in pod ${request.pod} (${code})`);
  }
  return new ExecutorError('EXECUTOR_FAILED', `cannot exec in container ${request.container} of pod ${request.pod}: ${message}`);
}
