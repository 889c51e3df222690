// Where the server keeps each project's bare git repository: one place that git hosting, checkouts,
// runs and the API all read, so none of them has to import another for it.
import path from 'node:path';

export function repositoryPath(reposDir: string, project: string): string {
  return path.join(reposDir, `${project}.git`);
}
