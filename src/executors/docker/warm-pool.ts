// Job containers started ahead of time. Starting a container is most of the time between a push
// and its first step (runc, mounts, network set-up: 0.5–1 s here), so a long-running server keeps
// a started idle container (with a fresh workspace volume) ready for each image its jobs used
// recently, and a job of that image adopts it instead of starting its own. A warm container has
// never run anything: adopting it is the same as starting a new one, only earlier.
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { LABEL_MANAGED, LABEL_OWNER, ownerIdentity } from './labels.js';

export const LABEL_WARM = 'io.slipway.warm';

export interface WarmContainer {
  container: Docker.Container;
  volumeName: string;
  /** the image's ID when the container was created: a tag moved since means the entry is stale */
  imageId: string;
}

export interface WarmPoolOptions {
  /** started containers kept per image */
  perImage: number;
  /** images remembered at most (least recently used forgotten first) */
  maxImages: number;
  /** an image no job used for this long is forgotten and its containers removed */
  idleMs: number;
  log: (message: string) => void;
}

/** How a container for a job is made: the pool uses the executor's own recipe. */
export type ContainerRecipe = (image: string, name: string, volumeName: string, labels: Record<string, string>) => Docker.ContainerCreateOptions;

export class WarmPool {
  private readonly ready = new Map<string, WarmContainer[]>();
  /** fills under way per image: a job that finds none ready waits for one, being further along than a cold start */
  private readonly filling = new Map<string, Set<Promise<void>>>();
  private readonly lastUsed = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly docker: Docker,
    private readonly recipe: ContainerRecipe,
    private readonly options: WarmPoolOptions,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, options.idleMs));
    this.sweeper.unref();
  }

  /** Whether jobs of this image may use the pool: a digest reference is a one-off build output. */
  static accepts(image: string): boolean {
    return !image.includes('@sha256:');
  }

  /** A started container of `image` (as `imageId`), or undefined: the caller starts its own. */
  async take(image: string, imageId: string): Promise<WarmContainer | undefined> {
    this.lastUsed.set(image, Date.now());
    for (;;) {
      const entries = this.ready.get(image) ?? [];
      while (entries.length > 0) {
        const entry = entries.shift()!;
        if (entry.imageId === imageId && (await isRunning(entry.container))) return entry;
        void this.discard(entry);
      }
      const underway = this.filling.get(image);
      if (!underway || underway.size === 0) return undefined;
      await Promise.race(underway);
    }
  }

  /** Starts warm containers for images jobs are expected to use (those of recent runs, at start). */
  prewarm(images: readonly string[]): void {
    const now = Date.now();
    for (const image of images.filter(WarmPool.accepts).slice(0, this.options.maxImages)) {
      if (!this.lastUsed.has(image)) this.lastUsed.set(image, now);
      this.replenish(image);
    }
  }

  /** How many started containers wait, per image. */
  counts(): Map<string, number> {
    return new Map([...this.ready].map(([image, entries]) => [image, entries.length]));
  }

  /** A job of `image` ended: keep `perImage` started containers of it ready for the next one. */
  replenish(image: string): void {
    if (this.closed || !WarmPool.accepts(image)) return;
    this.lastUsed.set(image, Date.now());
    this.forgetBeyondLimit();
    const underway = this.filling.get(image) ?? new Set();
    this.filling.set(image, underway);
    const missing = this.options.perImage - (this.ready.get(image)?.length ?? 0) - underway.size;
    for (let i = 0; i < missing; i++) {
      const fill = this.fill(image);
      underway.add(fill);
      const settled = (): void => void underway.delete(fill);
      void fill.then(settled, settled);
      this.track(fill);
    }
  }

  /** Removes every warm container (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.inFlight]);
    const entries = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.allSettled(entries.map((entry) => this.discard(entry)));
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    // never a rejection left unhandled: a pool that fails costs only speed
    const settled = (): void => void this.inFlight.delete(work);
    void work.then(settled, settled);
  }

  private async fill(image: string): Promise<void> {
    const suffix = randomBytes(6).toString('hex');
    const name = `slipway-warm-${suffix}`;
    const volumeName = `${name}-ws`;
    const labels = { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: ownerIdentity, [LABEL_WARM]: image };
    let container: Docker.Container | undefined;
    try {
      const imageId = (await this.docker.getImage(image).inspect()).Id;
      await this.docker.createVolume({ Name: volumeName, Labels: labels });
      container = await this.docker.createContainer(this.recipe(image, name, volumeName, labels));
      await container.start();
      const entry = { container, volumeName, imageId };
      if (this.closed || !this.lastUsed.has(image)) {
        await this.discard(entry);
        return;
      }
      this.ready.set(image, [...(this.ready.get(image) ?? []), entry]);
    } catch (err) {
      // A pool that cannot fill costs only speed: the job starts its own container as before.
      this.options.log(`warm container for ${image}: ${(err as Error).message}`);
      if (container) await this.discard({ container, volumeName, imageId: '' });
      else await this.docker.getVolume(volumeName).remove({ force: true }).catch(() => undefined);
    }
  }

  private async discard(entry: WarmContainer): Promise<void> {
    await entry.container.remove({ force: true, v: true }).catch(() => undefined);
    await this.docker.getVolume(entry.volumeName).remove({ force: true }).catch(() => undefined);
  }

  private forgetBeyondLimit(): void {
    const byAge = [...this.lastUsed.entries()].sort((a, b) => b[1] - a[1]);
    for (const [image] of byAge.slice(this.options.maxImages)) this.forget(image);
  }

  private forget(image: string): void {
    this.lastUsed.delete(image);
    const entries = this.ready.get(image) ?? [];
    this.ready.delete(image);
    for (const entry of entries) this.track(this.discard(entry));
  }

  private sweep(): void {
    const now = Date.now();
    for (const [image, used] of this.lastUsed) if (now - used > this.options.idleMs) this.forget(image);
  }
}

async function isRunning(container: Docker.Container): Promise<boolean> {
  try {
    return (await container.inspect()).State.Running;
  } catch {
    return false;
  }
}
