// Health probes of one replica: an HTTP GET of a path, a TCP connect, or a command run inside the
// container. A probe answers ok or not, with the output users see when a rollout fails. Probes
// reach the replica only through its port published on 127.0.0.1 (never its bridge IP).
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { DeployHealth } from '../../spec/model.js';

export interface ProbeResult {
  ok: boolean;
  /**
   * the app answered (an HTTP status, a command's exit code) rather than not being reachable: a
   * starting replica that answers "unhealthy" again and again is failed without waiting for the
   * progress deadline, one that is not up yet is given until the deadline
   */
  answered?: boolean;
  /** what the check saw: status and body start, an error, or the command's output and exit code */
  output: string;
}

export type Probe = () => Promise<ProbeResult>;

/** Defaults close to kamal-proxy's: every 1 s, 5 s timeout. */
export const DEFAULT_HEALTH: DeployHealth = {
  path: '/',
  intervalMs: 1000,
  timeoutMs: 5000,
  healthy: 2,
  unhealthy: 3,
  startPeriodMs: 0,
};

const OUTPUT_LIMIT = 300;

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > OUTPUT_LIMIT ? `${trimmed.slice(0, OUTPUT_LIMIT)}…` : trimmed;
}

export function httpProbe(port: number, path: string, timeoutMs: number): Probe {
  return () =>
    new Promise<ProbeResult>((resolve) => {
      // A fresh connection per probe (agent: false): a probe must see whether the app accepts new
      // connections, and must not share sockets with the proxy's pool.
      const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'slipway-health' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < OUTPUT_LIMIT) body += chunk;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 400, answered: true, output: clip(`GET ${path}: HTTP ${status} ${body}`) });
        });
        res.on('error', (err) => resolve({ ok: false, output: `GET ${path}: ${err.message}` }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ ok: false, output: `GET ${path}: ${describeError(err)}` }));
    });
}

/**
 * Docker's userland proxy accepts a connection on the published port even when nothing listens in
 * the container, and closes it at once. So a TCP probe counts as healthy only a connection that is
 * still open a short while after it was accepted.
 */
export function tcpProbe(port: number, timeoutMs: number, settleMs = 150): Probe {
  return () =>
    new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const done = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => done({ ok: false, output: `TCP connect: no answer within ${timeoutMs} ms` }), timeoutMs);
      const socket = net.connect(port, '127.0.0.1', () => {
        setTimeout(() => done({ ok: true, output: `TCP connect to port ${port}: open` }), settleMs);
      });
      socket.on('close', () => done({ ok: false, output: 'TCP connect: the connection was closed at once (nothing listens on the port in the container)' }));
      socket.on('error', (err) => done({ ok: false, output: `TCP connect: ${describeError(err)}` }));
    });
}

export function execProbe(container: Docker.Container, cmd: string, timeoutMs: number): Probe {
  return async () => {
    let output = '';
    try {
      const exec = await container.exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true, Tty: true });
      const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
      const sink = new PassThrough();
      stream.pipe(sink);
      sink.on('data', (chunk: Buffer) => {
        if (output.length < OUTPUT_LIMIT * 2) output += chunk.toString('utf8');
      });
      const finished = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        stream.destroy();
        return { ok: false, output: clip(`${cmd}: no exit within ${timeoutMs} ms ${output}`) };
      }
      const info = await exec.inspect();
      const code = info.ExitCode ?? -1;
      return { ok: code === 0, answered: true, output: clip(`${cmd}: exit code ${code}${output.trim() ? `: ${output}` : ''}`) };
    } catch (err) {
      return { ok: false, output: clip(`${cmd}: ${(err as Error).message}`) };
    }
  };
}

/** The probe a deploy block asks for: cmd, else path, else TCP. */
export function probeFor(health: DeployHealth, container: Docker.Container, hostPort: number): Probe {
  if (health.cmd !== undefined) return execProbe(container, health.cmd, health.timeoutMs);
  if (health.path !== undefined) return httpProbe(hostPort, health.path, health.timeoutMs);
  return tcpProbe(hostPort, health.timeoutMs);
}

function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET') return 'connection reset (is the app listening on its port?)';
  if (code === 'ECONNREFUSED') return 'connection refused';
  return code ? `${err.message} (${code})` : err.message;
}
