// Every project with its last run.
import type { JSX } from 'preact';
import { api } from '../api.js';
import { useClock, useLive } from '../live.js';
import { ago, elapsed, shortSha } from '../format.js';
import { ErrorNote, StatusBadge } from '../components/status.js';

export function ProjectsPage(): JSX.Element {
  const { value, error } = useLive(async () => (await api.call('listProjects')).projects.map((project) => ({ project, last: project.lastRun })), [], ['run']);
  useClock(value?.some(({ last }) => last?.status === 'running') ?? false);
  return (
    <main>
      <h1>Projects</h1>
      <ErrorNote error={error} />
      {value && value.length === 0 ? <p>No project yet: <code>git push http://any:TOKEN@HOST/git/NAME.git main</code> creates one.</p> : null}
      {value ? (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Last run</th>
              <th scope="col">Branch</th>
              <th scope="col">Commit</th>
              <th scope="col">Duration</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {value.map(({ project, last }) => (
              <tr key={project.id}>
                <th scope="row">
                  <a href={`/projects/${encodeURIComponent(project.name)}`}>{project.name}</a>
                </th>
                <td>{last ? <a href={`/runs/${last.id}`}><StatusBadge status={last.status} /> #{last.number}</a> : '–'}</td>
                <td>{last?.trigger.branch ?? ''}</td>
                <td>{last ? <span title={last.trigger.commitMessage ?? ''}><code>{shortSha(last.trigger.commit)}</code> {last.trigger.commitMessage?.split('\n')[0] ?? ''}</span> : ''}</td>
                <td>{last ? elapsed(last.startedAtMs, last.finishedAtMs) : ''}</td>
                <td>{last ? ago(last.createdAtMs) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : error ? null : <p class="loading">Loading…</p>}
    </main>
  );
}
