// Revision history kept in the data directory, one JSON file per (app, environment), written
// through a temporary file and a rename so that a kill never leaves half a history.
//
//   <dataDir>/deploy/<app>/<environment>/revisions.json
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Revision } from './types.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** An app or environment name: also a folder name here, a label value, and part of a token scope (deploy:ENV). */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function checkName(kind: 'app' | 'environment', name: string): void {
  if (!isValidName(name)) {
    throw new Error(`${kind} name '${name}' is not valid (letters, digits, _ . -; at most 63; starting with a letter or digit)`);
  }
}

export class RevisionStore {
  constructor(private readonly dataDir: string) {}

  private file(app: string, environment: string): string {
    checkName('app', app);
    checkName('environment', environment);
    return path.join(this.dataDir, 'deploy', app, environment, 'revisions.json');
  }

  async list(app: string, environment: string): Promise<Revision[]> {
    try {
      return JSON.parse(await readFile(this.file(app, environment), 'utf8')) as Revision[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Every (app, environment) with a folder here (of `app` only, when given), sorted; folders that are not valid names are not ours. */
  async environments(only?: string): Promise<Array<{ app: string; environment: string }>> {
    const out: Array<{ app: string; environment: string }> = [];
    const apps = only === undefined ? await folders(path.join(this.dataDir, 'deploy')) : isValidName(only) ? [only] : [];
    for (const app of apps) {
      for (const environment of await folders(path.join(this.dataDir, 'deploy', app))) out.push({ app, environment });
    }
    return out;
  }

  /** The newest revision of each environment that has one. */
  async latestOfEach(): Promise<Revision[]> {
    const latest: Revision[] = [];
    for (const { app, environment } of await this.environments()) {
      const newest = (await this.list(app, environment)).at(-1);
      if (newest) latest.push(newest);
    }
    return latest;
  }

  /** Appends a new revision with the next number; callers serialise per environment. */
  async append(revision: Omit<Revision, 'number'>): Promise<Revision> {
    const all = await this.list(revision.app, revision.environment);
    const created: Revision = { ...revision, number: (all.at(-1)?.number ?? 0) + 1 };
    await this.write(revision.app, revision.environment, [...all, created]);
    return created;
  }

  async update(revision: Revision): Promise<void> {
    const all = await this.list(revision.app, revision.environment);
    const index = all.findIndex((r) => r.number === revision.number);
    if (index === -1) throw new Error(`revision ${revision.number} of ${revision.app}/${revision.environment} does not exist`);
    all[index] = revision;
    await this.write(revision.app, revision.environment, all);
  }

  private async write(app: string, environment: string, revisions: Revision[]): Promise<void> {
    const file = this.file(app, environment);
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(revisions, null, 2));
    await rename(temp, file);
  }
}

async function folders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && isValidName(e.name)).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
