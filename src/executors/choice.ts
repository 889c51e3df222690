// The executors a server or `slipway run` offers: a default one, and the others a job may ask for
// with `runs-on`. Each is made on first use, so a machine without a cluster runs docker jobs as
// before and only a job that asks for kubernetes meets the missing kubeconfig.
import { ExecutorError, type Executor, type ExecutorName, type Sandbox, type SandboxProgress, type SandboxSpec } from './types.js';

/** Makes an executor; `gone` are the owners known gone so far, whose leftovers it may reap as it is made. */
export type ExecutorFactory = (gone: ReadonlySet<string>) => Promise<Executor>;

export class ExecutorChoice implements Executor {
  private readonly made = new Map<ExecutorName, Promise<Executor>>();
  /** replicas found gone (their heartbeat stopped): an executor made later still knows their leftovers for orphans */
  private readonly gone = new Set<string>();

  constructor(
    readonly defaultName: ExecutorName,
    private readonly factories: Partial<Record<ExecutorName, ExecutorFactory>>,
  ) {}

  get name(): string {
    return this.defaultName;
  }

  /** The executor of that name, made now if it was not yet. */
  executor(name: ExecutorName): Promise<Executor> {
    let made = this.made.get(name);
    if (!made) {
      const factory = this.factories[name];
      if (!factory) return Promise.reject(new ExecutorError('EXECUTOR_FAILED', `no ${name} executor here`));
      made = factory(this.gone).catch((err: unknown) => {
        // the next job tries again (a kubeconfig written meanwhile, a cluster back up)
        this.made.delete(name);
        throw err instanceof ExecutorError ? err : new ExecutorError('EXECUTOR_ENGINE_UNREACHABLE', `the ${name} executor cannot start: ${(err as Error).message}`);
      });
      this.made.set(name, made);
    }
    return made;
  }

  async createSandbox(spec: SandboxSpec, progress: SandboxProgress, signal: AbortSignal): Promise<Sandbox> {
    const name = spec.runsOn ?? this.defaultName;
    let executor: Executor;
    try {
      executor = await this.executor(name);
    } catch (err) {
      const why = (err as Error).message;
      throw new ExecutorError((err as ExecutorError).code ?? 'EXECUTOR_FAILED', spec.runsOn ? `job '${spec.jobName}' runs on ${name} (runs-on), but ${why}` : why);
    }
    return executor.createSandbox(spec, progress, signal);
  }

  /**
   * Reaps the leftovers of the default executor (made now if it was not yet: a starting server's
   * first act) and of the others made so far; one made later reaps its own as it is made, `gone`
   * owners included — once their runs are interrupted nothing else would name them again.
   */
  async reapOrphans(gone?: ReadonlySet<string>): Promise<{ containers: number; networks: number; volumes: number }> {
    for (const owner of gone ?? []) this.gone.add(owner);
    const total = { containers: 0, networks: 0, volumes: 0 };
    await this.executor(this.defaultName).catch(() => undefined);
    for (const made of this.made.values()) {
      const executor = await made.catch(() => undefined);
      if (!executor) continue;
      const reaped = await executor.reapOrphans(this.gone);
      total.containers += reaped.containers;
      total.networks += reaped.networks;
      total.volumes += reaped.volumes;
    }
    return total;
  }

  prewarm(images: readonly string[]): void {
    void this.executor(this.defaultName).then((e) => e.prewarm?.(images), () => undefined);
  }

  async close(): Promise<void> {
    for (const made of this.made.values()) await (await made.catch(() => undefined))?.close?.();
  }
}
