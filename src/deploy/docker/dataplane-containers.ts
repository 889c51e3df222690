// The data plane's containers and the environments' networks, as the agent keeps them. The data
// plane runs apart from the agent, in containers Docker restarts by itself (`unless-stopped`), so a
// dead agent — or a restarted engine — leaves every app serving:
//
//   slipway-edge-AGENT            host network: each environment's port on 127.0.0.1 and the shared
//                                 front (80/443, routed by Host) → replicas' published ports
//   slipway-mesh-AGENT-APP-ENV    on the environment's network as `APP` and `APP.ENV`: what other
//                                 apps call → the app's replicas by name on that network
//
// Both run the same program (dataplane/main.js) from this installation, bind-mounted read-only, on
// a node image; each keeps its routes in a state file of its own and answers the agent on a unix
// socket, both in DATA/dataplane/NAME/.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { DataPlaneClient } from './dataplane/client.js';
import { LABEL_AGENT, LABEL_APP, LABEL_ENVIRONMENT } from './labels.js';

export const LABEL_ROLE = 'io.slipway.deploy.role';
export const ROLE_DATAPLANE = 'dataplane';
export const ROLE_NETWORK = 'environment-network';

/** The installation's root (the directory holding package.json and dist/). */
const INSTALL_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DATAPLANE_MAIN = path.join(INSTALL_ROOT, 'dist', 'src', 'deploy', 'docker', 'dataplane', 'main.js');

/** Images with node tried in turn when SLIPWAY_NODE_IMAGE names none. */
const NODE_IMAGES = ['node:20-slipway', 'node:20-slim', 'node:20'];

export type DataPlaneRole = { kind: 'edge' } | { kind: 'mesh'; app: string; environment: string; network: string };

export function networkName(agent: string, environment: string): string {
  return `slipway-${environment}-${agent.slice(0, 6)}`;
}

export function dataPlaneName(agent: string, role: DataPlaneRole): string {
  return role.kind === 'edge' ? `slipway-edge-${agent}` : `slipway-mesh-${agent}-${role.app}-${role.environment}`;
}

export class DataPlaneContainers {
  private image: Promise<string> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly agent: string,
    private readonly dataDir: string,
    private readonly log: (line: string) => void,
  ) {}

  private dir(role: DataPlaneRole): string {
    return path.join(this.dataDir, 'dataplane', role.kind === 'edge' ? 'edge' : `mesh-${role.app}-${role.environment}`);
  }

  /** The environment's network: created once, labelled with its agent, reused when it exists. */
  async ensureNetwork(environment: string): Promise<string> {
    const name = networkName(this.agent, environment);
    try {
      await this.docker.getNetwork(name).inspect();
      return name;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABEL_AGENT]: this.agent, [LABEL_ENVIRONMENT]: environment, [LABEL_ROLE]: ROLE_NETWORK },
      });
      this.log(`created network ${name} for environment ${environment}`);
    } catch (err) {
      // another starter made it first
      if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    }
    return name;
  }

  async removeNetwork(environment: string): Promise<void> {
    await this.docker
      .getNetwork(networkName(this.agent, environment))
      .remove()
      .catch(() => undefined); // still in use by another app of the environment, or gone
  }

  /** A running data plane container for the role, answering on its control socket. */
  async ensure(role: DataPlaneRole): Promise<DataPlaneClient> {
    const name = dataPlaneName(this.agent, role);
    const dir = this.dir(role);
    const client = new DataPlaneClient(path.join(dir, 'ctl.sock'));
    if (await client.ping()) return client;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const container = this.docker.getContainer(name);
    let running = false;
    try {
      const info = await container.inspect();
      running = info.State.Running;
      if (!running) await container.start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await this.create(name, dir, role);
    }
    const deadline = Date.now() + 15_000;
    while (!(await client.ping())) {
      if (Date.now() > deadline) throw new Error(`the data plane container ${name} does not answer on ${path.join(dir, 'ctl.sock')}; see \`docker logs ${name}\``);
      await new Promise((resolve) => setTimeout(resolve, running ? 50 : 100));
    }
    return client;
  }

  private async create(name: string, dir: string, role: DataPlaneRole): Promise<void> {
    const image = await this.nodeImage();
    const labels: Record<string, string> = { [LABEL_AGENT]: this.agent, [LABEL_ROLE]: ROLE_DATAPLANE };
    if (role.kind === 'mesh') Object.assign(labels, { [LABEL_APP]: role.app, [LABEL_ENVIRONMENT]: role.environment });
    const container = await this.docker.createContainer({
      name,
      Image: image,
      Entrypoint: ['node'],
      Cmd: [DATAPLANE_MAIN, '--control', path.join(dir, 'ctl.sock'), '--state', path.join(dir, 'state.json')],
      Labels: labels,
      StopSignal: 'SIGTERM',
      HostConfig: {
        Binds: [`${INSTALL_ROOT}:${INSTALL_ROOT}:ro`, `${dir}:${dir}`],
        NetworkMode: role.kind === 'edge' ? 'host' : role.network,
        // The point of a separate data plane: Docker brings it back (a crash, an engine restart)
        // without the agent.
        RestartPolicy: { Name: 'unless-stopped' },
      },
      ...(role.kind === 'mesh' ? { NetworkingConfig: { EndpointsConfig: { [role.network]: { Aliases: [role.app, `${role.app}.${role.environment}`] } } } } : {}),
    });
    await container.start();
    this.log(`started data plane container ${name}${role.kind === 'mesh' ? ` on ${role.network} as ${role.app}, ${role.app}.${role.environment}` : ' (host network)'}`);
  }

  async remove(role: DataPlaneRole): Promise<void> {
    const name = dataPlaneName(this.agent, role);
    await this.docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    await rm(this.dir(role), { recursive: true, force: true });
  }

  private nodeImage(): Promise<string> {
    this.image ??= (async () => {
      const named = process.env.SLIPWAY_NODE_IMAGE;
      for (const candidate of named ? [named] : NODE_IMAGES) {
        try {
          await this.docker.getImage(candidate).inspect();
          return candidate;
        } catch {
          // not here; the next
        }
      }
      const pull = named ?? 'node:20-slim';
      try {
        const stream = await this.docker.pull(pull);
        await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
        return pull;
      } catch (err) {
        this.image = undefined;
        throw new Error(`the data plane runs on an image with node (SLIPWAY_NODE_IMAGE, else one of ${NODE_IMAGES.join(', ')}); none is present and ${pull} could not be pulled: ${(err as Error).message}`);
      }
    })();
    return this.image;
  }
}
