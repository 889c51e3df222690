// The agent's local API as its clients see it: request and stream message types, and a client that
// talks HTTP over DATA/agent.sock and starts a detached agent when none answers.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployError, type DeployOutcome, type Revision } from '../types.js';
import type { DockerEnvironmentStatus } from './environment.js';
import type { RolloutConfig } from './state.js';
import type { ScaleOutcome } from '../scale-events.js';

export interface DeployBody {
  app: string;
  environment: string;
  config: RolloutConfig;
  trigger: Revision['trigger'];
  /** roll out a new revision even when the image and config equal the current one's */
  force?: boolean;
}

export interface RollbackBody {
  app: string;
  environment: string;
  to?: number;
  by: string;
}

export interface ScaleBody {
  app: string;
  environment: string;
  replicas: number;
  by: string;
}

export type StreamMessage =
  | { type: 'progress'; line: string }
  | { type: 'outcome'; outcome: DeployOutcome | ScaleOutcome }
  | { type: 'error'; code: string; message: string };

const AGENT_MAIN = fileURLToPath(new URL('./agent-main.js', import.meta.url));

export class AgentClient {
  readonly socket: string;

  constructor(readonly dataDir: string) {
    this.socket = path.join(dataDir, 'agent.sock');
  }

  async ping(): Promise<{ pid: number; agent: string } | undefined> {
    try {
      return (await this.request('GET', '/ping', undefined, 2000)) as { pid: number; agent: string };
    } catch {
      return undefined;
    }
  }

  /** Starts a detached agent for the data directory unless one answers; resolves once it does. */
  async ensureRunning(timeoutMs = 20_000): Promise<{ pid: number; agent: string }> {
    const running = await this.ping();
    if (running) return running;
    await mkdir(this.dataDir, { recursive: true });
    const log = await open(path.join(this.dataDir, 'agent.log'), 'a');
    // Under a supervisor that starts the agent again when it dies (see agent-main.ts).
    const child = spawn(process.execPath, [AGENT_MAIN, '--data', this.dataDir, '--supervise'], {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: process.env,
    });
    child.unref();
    await log.close();
    let exited: number | null | undefined;
    child.once('exit', (code) => {
      exited = code;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await this.ping();
      if (answer) return answer;
      // exit code 3 is a lost race with another starter: keep pinging that one
      if (Date.now() > deadline || (exited !== undefined && exited !== 3)) {
        throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', `the deploy agent did not start; see ${path.join(this.dataDir, 'agent.log')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  status(app?: string, environment?: string): Promise<DockerEnvironmentStatus[]> {
    const query = new URLSearchParams();
    if (app) query.set('app', app);
    if (environment) query.set('environment', environment);
    return this.request('GET', `/status?${query.toString()}`) as Promise<DockerEnvironmentStatus[]>;
  }

  async remove(app: string, environment: string): Promise<boolean> {
    return ((await this.request('POST', '/remove', { app, environment })) as { removed: boolean }).removed;
  }

  async cancel(app: string, environment: string): Promise<boolean> {
    return ((await this.request('POST', '/cancel', { app, environment })) as { cancelled: boolean }).cancelled;
  }

  /** Asks the agent to exit; with removeAll, its environments' replicas and proxies go too. */
  async shutdown(removeAll = false): Promise<void> {
    const answer = await this.ping();
    if (!answer) return;
    await this.request('POST', '/shutdown', { removeAll }, removeAll ? 120_000 : 10_000);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && isAlive(answer.pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  request(method: string, pathname: string, body?: unknown, timeoutMs = 30_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, method, path: pathname, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) reject(agentError(res.statusCode ?? 500, text));
          else resolve(JSON.parse(text || 'null') as unknown);
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`the deploy agent did not answer ${pathname} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /**
   * A streamed rollout: progress lines, then the outcome. Rejects with `AgentLost` when the
   * connection ends without an outcome (the agent was killed).
   */
  stream<T extends DeployOutcome | ScaleOutcome = DeployOutcome>(pathname: string, body: DeployBody | RollbackBody | ScaleBody, onProgress: (line: string) => void, signal?: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = http.request({ socketPath: this.socket, method: 'POST', path: pathname, headers: { 'content-type': 'application/json' } }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          // refused before the rollout started (the body): one JSON error, not a stream
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settled = true;
            reject(agentError(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8')));
          });
          res.on('error', () => {
            if (!settled) reject(new AgentLost());
          });
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) !== -1) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (!line.trim()) continue;
            const message = JSON.parse(line) as StreamMessage;
            if (message.type === 'progress') onProgress(message.line);
            else if (message.type === 'outcome') {
              settled = true;
              resolve(message.outcome as T);
            } else {
              settled = true;
              reject(new DeployError(isDeployCode(message.code) ? message.code : 'ROLLOUT_TARGET_UNREACHABLE', message.message));
            }
          }
        });
        res.on('end', () => {
          if (!settled) reject(new AgentLost());
        });
        res.on('error', () => {
          if (!settled) reject(new AgentLost());
        });
      });
      req.on('error', () => {
        if (!settled) reject(new AgentLost());
      });
      const onAbort = (): void => {
        // Cancel the rollout in the agent (it rolls back); the stream then ends with the outcome.
        void this.cancel(body.app, body.environment).catch(() => undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(JSON.stringify(body));
      if (signal?.aborted) onAbort();
    });
  }
}

/** The agent went away mid-request (killed); the caller restarts it and reads the outcome. */
export class AgentLost extends Error {
  constructor() {
    super('the deploy agent stopped during the request');
  }
}

/**
 * The agent's `{code, message}` answer to a refused request. A request it cannot read (too large,
 * not JSON) is an invalid rollout request, not an unreachable agent.
 */
function agentError(status: number, text: string): DeployError {
  let error: { code?: string; message?: string } = {};
  try {
    error = (JSON.parse(text) as typeof error | null) ?? {};
  } catch {
    // not JSON: the status says what there is to say
  }
  const code = isDeployCode(error.code) ? error.code : status === 400 || status === 413 ? 'ROLLOUT_INVALID' : 'ROLLOUT_TARGET_UNREACHABLE';
  return new DeployError(code, error.message ?? `agent answered ${status}`);
}

const DEPLOY_CODES = new Set(['ROLLOUT_PROGRESS_DEADLINE', 'ROLLOUT_UNHEALTHY', 'ROLLOUT_NO_REVISION', 'ROLLOUT_INVALID', 'ROLLOUT_TARGET_UNREACHABLE', 'ROLLOUT_FORBIDDEN']);

function isDeployCode(code: string | undefined): code is DeployError['code'] {
  return code !== undefined && DEPLOY_CODES.has(code);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
