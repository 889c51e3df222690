// Shared set-up of the docker deploy target's tests: hello-web images built once (healthy v1/v2,
// one failing its health check, one crashing at start), a deploy spec with short intervals, a
// keep-alive HTTP load that counts failed requests, and clean-up of agents and containers.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { examplesDir } from '../support/paths.js';
import { makeTemplate, type DeploySpec } from '../../src/spec/index.js';
import { agentId, DockerDeployTarget, LABEL_AGENT } from '../../src/deploy/docker/index.js';
import type { DeployRequest } from '../../src/deploy/index.js';

const run = promisify(execFile);

export const IMAGES = {
  v1: 'slipway-deploy-test/hello:v1',
  v2: 'slipway-deploy-test/hello:v2',
  v3: 'slipway-deploy-test/hello:v3',
  unhealthy: 'slipway-deploy-test/hello:unhealthy',
  crash: 'slipway-deploy-test/hello:crash',
  /** runs, but never listens on its port */
  silent: 'slipway-deploy-test/hello:silent',
} as const;

let built: Promise<void> | undefined;

/** Builds the test images once per process (the layers are cached across files). */
export function buildImages(): Promise<void> {
  built ??= (async () => {
    const context = path.join(examplesDir, 'hello-web');
    const env = { ...process.env, DOCKER_BUILDKIT: '0' };
    const build = (tag: string, args: string[]) => run('docker', ['build', '-q', '-t', tag, ...args, context], { env, maxBuffer: 16 << 20 });
    await build(IMAGES.v1, ['--build-arg', 'VERSION=v1']);
    await build(IMAGES.v2, ['--build-arg', 'VERSION=v2']);
    await build(IMAGES.v3, ['--build-arg', 'VERSION=v3']);
    await build(IMAGES.unhealthy, ['--build-arg', 'VERSION=unhealthy', '--build-arg', 'FAIL_HEALTHZ=1']);
    // The crash image: the same app whose command fails at once, with a line on stderr.
    const fromStdin = (tag: string, dockerfile: string) =>
      new Promise<void>((resolve, reject) => {
        const child = execFile('docker', ['build', '-q', '-t', tag, '-'], { env }, (err) => (err ? reject(err) : resolve()));
        child.stdin?.end(dockerfile);
      });
    await fromStdin(IMAGES.crash, `FROM ${IMAGES.v1}\nCMD ["node", "-e", "console.error('boom: missing DATABASE_URL'); process.exit(3)"]\n`);
    await fromStdin(IMAGES.silent, `FROM busybox:latest\nCMD ["sh", "-c", "echo 'waiting for a database that never comes'; exec sleep 3600"]\n`);
  })();
  return built;
}

export function testSpec(overrides: Partial<Omit<DeploySpec, 'health' | 'strategy'>> & { health?: Partial<DeploySpec['health']>; strategy?: Partial<DeploySpec['strategy']> } = {}): DeploySpec {
  const { health, strategy, ...rest } = overrides;
  return {
    environment: 'test',
    target: 'docker',
    image: makeTemplate('unused', { file: 'test', line: 0, col: 0 }),
    replicas: 3,
    port: 8080,
    ...rest,
    health: { path: '/healthz', intervalMs: 200, timeoutMs: 1000, healthy: 2, unhealthy: 2, startPeriodMs: 0, ...health },
    strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 20_000, autoRollback: true, ...strategy },
  };
}

export function deployRequest(app: string, image: string, spec: DeploySpec = testSpec(), lines: string[] = []): DeployRequest {
  return {
    app,
    environment: spec.environment,
    spec,
    image,
    trigger: { by: 'test', kind: 'deploy' },
    signal: new AbortController().signal,
    onProgress: (line) => lines.push(line),
  };
}

export interface Fixture {
  dataDir: string;
  target: DockerDeployTarget;
  cleanup(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'slipway-deploy-'));
  const target = new DockerDeployTarget({ dataDir });
  return {
    dataDir,
    target,
    async cleanup() {
      await removeDeployments(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Container names of an agent's replicas (all states); its data plane containers are not replicas. */
export async function containersOf(dataDir: string, options: { dataPlane?: boolean } = {}): Promise<Array<{ id: string; name: string; state: string; revision: string }>> {
  const only = options.dataPlane ? [] : ['--filter', 'label=io.slipway.deploy.revision'];
  const { stdout } = await run('docker', ['ps', '-a', '--filter', `label=${LABEL_AGENT}=${agentId(dataDir)}`, ...only, '--format', '{{.ID}} {{.Names}} {{.State}} {{.Label "io.slipway.deploy.revision"}}']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', name = '', state = '', revision = ''] = line.split(' ');
      return { id, name, state, revision };
    });
}

/** Every container of the agent (replicas and data plane) and its networks. */
export async function removeContainers(dataDir: string): Promise<void> {
  const ids = (await containersOf(dataDir, { dataPlane: true })).map((c) => c.id);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]).catch(() => undefined);
  const { stdout } = await run('docker', ['network', 'ls', '-q', '--filter', `label=${LABEL_AGENT}=${agentId(dataDir)}`]).catch(() => ({ stdout: '' }));
  const networks = stdout.split('\n').filter(Boolean);
  if (networks.length > 0) await run('docker', ['network', 'rm', ...networks]).catch(() => undefined);
}

/** Everything a deploy data directory's agent runs goes: the agent (removing its environments), then any replica left. */
export async function removeDeployments(dataDir: string): Promise<void> {
  await new DockerDeployTarget({ dataDir }).client.shutdown(true).catch(() => undefined);
  await removeContainers(dataDir);
}

export { eventually } from '../support/wait.js';

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  /** the `version` answers seen, in order of first appearance */
  versions: string[];
}

/**
 * Continuous HTTP load over keep-alive connections: `concurrency` loops of GET /, or a fixed rate
 * when `ratePerSecond` is given. Every non-200 answer or connection error is a failed request.
 */
export class Load {
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly loops: Array<Promise<void>> = [];
  readonly result: LoadResult = { ok: 0, failed: 0, errors: [], versions: [] };

  constructor(
    private readonly port: number,
    private readonly options: { concurrency?: number; ratePerSecond?: number; path?: string } = {},
  ) {}

  start(): this {
    if (this.options.ratePerSecond) {
      const interval = 1000 / this.options.ratePerSecond;
      const started = Date.now();
      let sent = 0;
      const pending = new Set<Promise<void>>();
      this.loops.push(
        (async () => {
          while (!this.stopped) {
            const due = Math.floor((Date.now() - started) / interval);
            while (sent < due) {
              sent += 1;
              const p = this.once().finally(() => pending.delete(p));
              pending.add(p);
            }
            await new Promise((resolve) => setTimeout(resolve, Math.max(1, interval / 2)));
          }
          await Promise.all(pending);
        })(),
      );
    } else {
      for (let i = 0; i < (this.options.concurrency ?? 4); i += 1) {
        this.loops.push(
          (async () => {
            while (!this.stopped) await this.once();
          })(),
        );
      }
    }
    return this;
  }

  private once(): Promise<void> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path: this.options.path ?? '/', agent: this.agent, timeout: 15_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode === 200) {
            this.result.ok += 1;
            const version = body.trim().split(' ').at(-1) ?? '';
            if (!this.result.versions.includes(version)) this.result.versions.push(version);
          } else this.fail(`HTTP ${res.statusCode}: ${body.trim()}`);
          resolve();
        });
        res.on('error', (err) => {
          this.fail(err.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        this.fail(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`);
        resolve();
      });
    });
  }

  private fail(message: string): void {
    this.result.failed += 1;
    if (this.result.errors.length < 20) this.result.errors.push(`${new Date().toISOString()} ${message}`);
  }

  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.agent.destroy();
    return this.result;
  }
}

export async function proxyPort(target: DockerDeployTarget, app: string, environment = 'test'): Promise<number> {
  const [status] = await target.status(app, environment);
  if (!status?.endpoint) throw new Error(`${app}/${environment} has no endpoint`);
  return Number(new URL(status.endpoint).port);
}

export async function get(port: number, pathname = '/'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
  return { status: res.status, body: await res.text() };
}

/**
 * An app that answers each request with what it got from TARGET (`APP:PORT`) — or from `?via=`
 * another name — over a keep-alive connection: app-to-app traffic through service discovery.
 */
export async function buildCaller(target: string): Promise<string> {
  const script = `import http from 'node:http';
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://caller');
  if (url.pathname === '/healthz') return res.end('ok');
  const via = url.searchParams.get('via') || process.env.TARGET;
  const [host, port] = via.split(':');
  http.get({ host, port: Number(port), path: '/', agent }, (up) => {
    let body = '';
    up.setEncoding('utf8');
    up.on('data', (c) => (body += c));
    up.on('end', () => { res.writeHead(up.statusCode); res.end(body); });
  }).on('error', (err) => { res.writeHead(502); res.end('caller: ' + err.message); });
});
server.listen(8080);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
  const tag = `slipway-deploy-test/caller:${target.replace(/[^a-z0-9]/g, '-')}`;
  const dockerfile = `FROM ${IMAGES.v1}\nENV TARGET=${target}\nRUN echo ${Buffer.from(script).toString('base64')} | base64 -d > /app/caller.mjs\nCMD ["node", "/app/caller.mjs"]\n`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile('docker', ['build', '-q', '-t', tag, '-'], { env: { ...process.env, DOCKER_BUILDKIT: '0' } }, (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(dockerfile);
  });
  return tag;
}
