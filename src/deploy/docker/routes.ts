// Where an environment's healthy replicas are announced: the edge (its port on 127.0.0.1 and its host
// names on the shared front, reaching replicas through their published ports) and the app's mesh
// proxy on the environment's network (what other apps call by name, reaching replicas by container
// name). Both are data plane containers; a replica joins both or is counted in neither.
import type { DataPlaneClient } from './dataplane/client.js';
import { networkName, type DataPlaneContainers } from './dataplane-containers.js';
import type { Replica } from './replicas.js';

export class EnvironmentRoutes {
  private mesh: DataPlaneClient | undefined;
  private meshPort: number | undefined;

  constructor(
    private readonly planes: DataPlaneContainers,
    private readonly edge: () => Promise<DataPlaneClient>,
    private readonly agent: string,
    readonly app: string,
    readonly environment: string,
  ) {}

  /** The pool's name in both data planes. */
  get pool(): string {
    return `${this.app}/${this.environment}`;
  }

  get network(): string {
    return networkName(this.agent, this.environment);
  }

  /** The network and the app's mesh proxy, listening on the app's port (moved when it changes). */
  async prepare(appPort: number): Promise<void> {
    await this.planes.ensureNetwork(this.environment);
    const mesh = await this.meshClient();
    if (this.meshPort !== appPort) {
      await mesh.configure({ listeners: [{ pool: this.pool, address: '0.0.0.0', port: appPort }] });
      this.meshPort = appPort;
    }
  }

  private async meshClient(): Promise<DataPlaneClient> {
    this.mesh ??= await this.planes.ensure({ kind: 'mesh', app: this.app, environment: this.environment, network: this.network });
    return this.mesh;
  }

  async add(replica: Replica): Promise<void> {
    const [edge, mesh] = await Promise.all([this.edge(), this.meshClient()]);
    await Promise.all([
      edge.add(this.pool, { id: replica.id, host: '127.0.0.1', port: replica.hostPort }),
      mesh.add(this.pool, { id: replica.id, host: replica.name, port: replica.appPort }),
    ]);
  }

  /** Out of both rotations at once; resolves when its requests there finished (or `timeoutMs`). */
  async drain(replica: Replica, timeoutMs: number): Promise<boolean> {
    const [edge, mesh] = await Promise.all([this.edge(), this.meshClient()]);
    const drained = await Promise.all([edge.drain(this.pool, replica.id, timeoutMs), mesh.drain(this.pool, replica.id, timeoutMs)]);
    return drained.every(Boolean);
  }

  /** Requests in flight to this environment now, through the edge and from other apps. */
  async inflight(): Promise<number> {
    const [edge, mesh] = await Promise.all([this.edge(), this.meshClient()]);
    const counts = await Promise.all([edge.inflight(this.pool), mesh.inflight(this.pool)]);
    return counts[0] + counts[1];
  }

  /**
   * After an agent restart: upstreams the data planes still route to but that are no replica any
   * more (removed while no agent ran) leave the rotation.
   */
  async reconcile(live: ReadonlySet<string>): Promise<string[]> {
    const [edge, mesh] = await Promise.all([this.edge(), this.meshClient()]);
    const gone = new Set<string>();
    for (const [client, state] of [
      [edge, await edge.state()],
      [mesh, await mesh.state()],
    ] as const) {
      for (const upstream of state.pools[this.pool]?.upstreams ?? []) {
        if (live.has(upstream.id)) continue;
        gone.add(upstream.id);
        await client.drain(this.pool, upstream.id, 0);
      }
    }
    return [...gone];
  }

  /** The mesh proxy goes; the edge's pool is dropped by the agent's next edge configuration. */
  async remove(): Promise<void> {
    this.mesh = undefined;
    this.meshPort = undefined;
    await this.planes.remove({ kind: 'mesh', app: this.app, environment: this.environment, network: this.network });
    const edge = await this.edge();
    await edge.removePool(this.pool, 0).catch(() => undefined);
  }
}
