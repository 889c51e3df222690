// `slipway server` as a child process, the way users run it, on a port it reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { slipwayBin } from './paths.js';

export interface ServerProcess {
  child: ChildProcess;
  url: Promise<string>;
  /** SIGTERM, and wait for the exit (no-op when it already exited) */
  stop(): Promise<void>;
}

export function spawnServer(
  data: string,
  options: { port?: number; host?: string; concurrency?: number; adminToken?: string; env?: Record<string, string>; bin?: string; args?: string[] } = {},
): ServerProcess {
  const args = [options.bin ?? slipwayBin, 'server', '--port', String(options.port ?? 0), '--host', options.host ?? '127.0.0.1', '--data', data, ...(options.args ?? [])];
  if (options.concurrency !== undefined) args.push('--concurrency', String(options.concurrency));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.adminToken ? { SLIPWAY_ADMIN_TOKEN: options.adminToken } : {}), ...options.env },
  });
  // the end of stderr goes into the error of a server that exits before it listens
  let errTail = '';
  child.stderr!.on('data', (d: Buffer) => void (errTail = (errTail + d.toString()).slice(-4000)));
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('close', (code, signal) => reject(new Error(`slipway server exited (${signal ?? code}): ${out}${errTail}`)));
  });
  url.catch(() => undefined);
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    },
  };
}
