// Polling of any git remote: every interval, the project's repository fetches the remote's branches
// and tags, and what moved runs exactly as a push would (same `on.push` filters, same queue).
import type { Store } from '../store/types.js';
import { projectNameProblem } from '../store/index.js';
import { git } from '../git/index.js';
import { diffRefs, ensureBareRepository, readRefs } from './git.js';
import { enqueuePlannedRuns, planPushRuns } from './triggers.js';

export interface PollTarget {
  project: string;
  remote: string;
}

/** `NAME=URL` from the command line or config; the URL may be anything `git fetch` takes. */
export function parsePollTarget(text: string): PollTarget {
  const eq = text.indexOf('=');
  const project = text.slice(0, eq);
  const remote = text.slice(eq + 1);
  if (eq <= 0 || projectNameProblem(project) !== undefined || remote.length === 0 || remote.startsWith('-')) {
    throw new Error(`--poll takes PROJECT=REMOTE (e.g. web=https://git.example.com/acme/web.git), not '${text}'`);
  }
  return { project, remote };
}

export class Poller {
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly options: {
      store: Store;
      reposDir: string;
      targets: PollTarget[];
      intervalMs: number;
      onQueued: () => void;
      log: (message: string) => void;
    },
  ) {}

  start(): void {
    if (this.options.targets.length === 0) return;
    void this.pollAll();
    this.timer = setInterval(() => void this.pollAll(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round over every target; a round still going makes the next tick wait. */
  async pollAll(): Promise<number> {
    if (this.polling) return 0;
    this.polling = true;
    let queued = 0;
    try {
      for (const target of this.options.targets) {
        try {
          queued += await this.poll(target);
        } catch (err) {
          this.options.log(`polling ${target.remote} for ${target.project}: ${(err as Error).message.trim().slice(-300)}`);
        }
      }
    } finally {
      this.polling = false;
    }
    if (queued > 0) this.options.onQueued();
    return queued;
  }

  private async poll(target: PollTarget): Promise<number> {
    const { store, reposDir } = this.options;
    const repo = await ensureBareRepository(reposDir, target.project);
    const before = await readRefs(repo);
    // the remote is the operator's (--poll), so local paths and file:// are allowed here
    await git(['fetch', '-q', '--prune', '--no-recurse-submodules', '--', target.remote, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], {
      cwd: repo,
      protocols: ['https', 'http', 'ssh', 'git', 'file'],
      timeoutMs: 5 * 60_000,
    });
    const updates = diffRefs(before, await readRefs(repo));
    if (updates.length === 0) return 0;
    const project = (await store.getProject(target.project)) ?? (await store.createProject({ name: target.project }));
    const planned = await planPushRuns(repo, project, updates, { event: 'poll', sender: 'poller' });
    await enqueuePlannedRuns(store, planned.runs);
    return planned.runs.length;
  }
}
