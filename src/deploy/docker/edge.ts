// The edge: the one data plane container per agent on the host network. It serves each
// environment's port (on 127.0.0.1 unless SLIPWAY_DEPLOY_HOST says otherwise) and, when some
// environment names host names, the shared front: port 80 and, with certificates, 443
// (SLIPWAY_HTTP_PORT, SLIPWAY_HTTPS_PORT, on SLIPWAY_FRONT_ADDRESS, default 0.0.0.0), routed by the
// Host header. The agent hands it the whole picture on every change; the edge keeps a listener
// whose address and port did not change, so traffic on it is not disturbed.
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DataPlaneClient, DataPlaneConfig } from './dataplane/client.js';
import type { DataPlaneContainers } from './dataplane-containers.js';
import type { EnvironmentState, RolloutConfig } from './state.js';

export interface EdgeOptions {
  /** the address environments' ports listen on */
  host: string;
  front?: { address?: string; httpPort?: number; httpsPort?: number };
}

interface Certificate {
  cert: string;
  key: string;
}

export class Edge {
  private client: Promise<DataPlaneClient> | undefined;
  /** certificates read at deploy time, by file pair: a file that disappears later does not take a site down */
  private readonly certificates = new Map<string, Certificate>();

  constructor(
    private readonly planes: DataPlaneContainers,
    private readonly options: EdgeOptions,
  ) {}

  /** The edge container, started on first use (an agent with no environment runs none). */
  connect(): Promise<DataPlaneClient> {
    this.client ??= this.planes.ensure({ kind: 'edge' }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  /**
   * Reads a deploy block's certificate and key; refuses what is not there before anything changes.
   * Only files under the TLS directory are read: a pipeline file is not to pick any key the agent
   * can read (the server's own, say) and serve it.
   */
  async loadCertificate(config: RolloutConfig): Promise<void> {
    const tls = config.tls;
    if (!tls) return;
    const id = `${tls.certificate}\0${tls.key}`;
    try {
      const [certFile, keyFile] = await Promise.all([inTlsDirectory(tls.certificate), inTlsDirectory(tls.key)]);
      const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
      this.certificates.set(id, { cert, key });
    } catch (err) {
      if (this.certificates.has(id)) return;
      throw new Error(`the TLS certificate or key cannot be read: ${(err as Error).message}`);
    }
  }

  /**
   * Applies every environment's port and host names. Ports chosen by the edge (0 asked) are written
   * back into the states, so they are kept from then on.
   */
  async configure(environments: EnvironmentState[]): Promise<void> {
    if (environments.length === 0 && !this.client) return;
    const client = await this.connect();
    for (const env of environments) {
      // A rollout's certificate must be readable (the rollout fails otherwise, before anything
      // changes); a current revision's keeps the copy read when it was deployed.
      if (env.rollout) await this.loadCertificate(env.rollout.config);
      else if (env.current) await this.loadCertificate(env.current.config).catch(() => undefined);
    }
    const bound = await client.configure(this.desired(environments));
    for (const listener of bound) {
      const env = environments.find((e) => `${e.app}/${e.environment}` === listener.pool);
      if (env) env.port = listener.port;
    }
  }

  private desired(environments: EnvironmentState[]): DataPlaneConfig {
    const listeners = environments.map((env) => ({ pool: `${env.app}/${env.environment}`, address: this.options.host, port: env.port }));
    const routes: NonNullable<DataPlaneConfig['front']>['routes'] = [];
    const certificates: Certificate[] = [];
    for (const env of environments) {
      const config = activeConfig(env);
      if (!config?.hosts?.length) continue;
      const certificate = config.tls ? this.certificates.get(`${config.tls.certificate}\0${config.tls.key}`) : undefined;
      if (certificate && !certificates.includes(certificate)) certificates.push(certificate);
      routes.push({ hostnames: config.hosts, pool: `${env.app}/${env.environment}`, tls: certificate !== undefined });
    }
    if (routes.length === 0) return { listeners };
    const front = this.options.front ?? {};
    return {
      listeners,
      front: {
        address: front.address ?? process.env.SLIPWAY_FRONT_ADDRESS ?? '0.0.0.0',
        httpPort: front.httpPort ?? portFromEnv('SLIPWAY_HTTP_PORT', 80),
        httpsPort: front.httpsPort ?? portFromEnv('SLIPWAY_HTTPS_PORT', 443),
        routes,
        certificates,
      },
    };
  }
}

/** Where certificates and keys may be read from: SLIPWAY_TLS_DIR, default /etc/slipway/tls. */
export function tlsDirectory(): string {
  return path.resolve(process.env.SLIPWAY_TLS_DIR ?? '/etc/slipway/tls');
}

/** The file's real path when it lies under the TLS directory (links resolved on both sides). */
async function inTlsDirectory(file: string): Promise<string> {
  const root = await realpath(tlsDirectory()).catch(() => tlsDirectory());
  const real = await realpath(file);
  if (real !== root && !real.startsWith(`${root}${path.sep}`)) {
    throw new Error(`${file} is outside the TLS directory ${root} (SLIPWAY_TLS_DIR): put certificates and keys there`);
  }
  return real;
}

/** The deploy block an environment serves with: the one being rolled out, else the current one. */
function activeConfig(env: EnvironmentState): RolloutConfig | undefined {
  return (env.rollout ?? env.current)?.config;
}

function portFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 && value < 65536 ? value : fallback;
}
