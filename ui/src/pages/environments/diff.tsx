// What changes between two revisions of an environment (GET …/revisions/diff): the image and its
// digest, the deploy block setting by setting, and the commits between them — or why those are not
// known. Also the short form a rollback's confirmation names.
import type { JSX } from 'preact';
import { api } from '../../api.js';
import { usePolled } from '../../live.js';
import { shortSha, when } from '../../format.js';
import { ErrorNote } from '../../components/status.js';
import type { ResponseOf } from '../../../../src/api/index.js';

export type RevisionDiff = ResponseOf<'revisionDiff'>;
type Commit = RevisionDiff['commits'][number];

export function loadDiff(app: string, env: string, from: number, to: number): Promise<RevisionDiff> {
  return api.call('revisionDiff', { params: { app, env }, query: { from: String(from), to: String(to) } });
}

/** A config value as text: a setting left out says so. */
function shown(value: unknown): string {
  if (value === undefined) return 'not set';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What a rollout from `diff.from` to `diff.to` changes, in a few lines for a confirmation. */
export function summarize(diff: RevisionDiff): string {
  const lines: string[] = [];
  lines.push(diff.imageChanged ? `Image: ${diff.from.image} → ${diff.to.image}` : `Image: unchanged (${diff.to.image})`);
  if (diff.configChanges.length > 0) {
    const listed = diff.configChanges.slice(0, 6).map((c) => `${c.path} ${shown(c.from)} → ${shown(c.to)}`);
    lines.push(`Config: ${listed.join('; ')}${diff.configChanges.length > listed.length ? `; and ${diff.configChanges.length - listed.length} more` : ''}`);
  } else {
    lines.push('Config: unchanged');
  }
  const count = (n: number): string => `${n}${diff.truncated ? '+' : ''} commit${n === 1 ? '' : 's'}`;
  if (diff.commitsUnavailable) lines.push(`Commits: not known (${diff.commitsUnavailable})`);
  else if (diff.commitsRemoved.length > 0) lines.push(`Commits: takes back ${count(diff.commitsRemoved.length)}, newest "${diff.commitsRemoved[0]?.subject ?? ''}"`);
  else if (diff.commits.length > 0) lines.push(`Commits: brings ${count(diff.commits.length)}, newest "${diff.commits[0]?.subject ?? ''}"`);
  return lines.join('\n');
}

function Commits({ commits, label }: { commits: readonly Commit[]; label: string }): JSX.Element {
  return (
    <ul class="commits" aria-label={label}>
      {commits.map((c) => (
        <li key={c.sha}>
          <code title={c.sha}>{shortSha(c.sha)}</code> {c.subject} <span class="rev-meta">— {c.author}, {when(c.timeMs)}</span>
        </li>
      ))}
    </ul>
  );
}

export function RevisionDiffView({ app, env, from, to }: { app: string; env: string; from: number; to: number }): JSX.Element {
  // revisions do not change once finished: read once per pair
  const { value: diff, error } = usePolled(() => loadDiff(app, env, from, to), [app, env, from, to], 0);
  const title = `Changes from revision ${from} to revision ${to}`;
  if (error) return <ErrorNote error={error} />;
  if (!diff) return <p class="loading">Comparing #{from} with #{to}…</p>;
  const plural = (n: number): string => `${n}${diff.truncated ? '+' : ''} commit${n === 1 ? '' : 's'}`;
  return (
    <section class="diff" aria-label={title}>
      <h3>
        #{from} → #{to}
      </h3>
      <dl>
        <dt>Image</dt>
        <dd>
          {diff.imageChanged ? (
            <>
              <code class="digest">{diff.from.image}</code> → <code class="digest">{diff.to.image}</code>
            </>
          ) : (
            <>
              unchanged: <code class="digest">{diff.to.image}</code>
            </>
          )}
        </dd>
        <dt>Digest</dt>
        <dd>{diff.digestChanged === undefined ? 'not pinned on both sides (a tag can point to another image later)' : diff.digestChanged ? 'changed' : 'the same'}</dd>
        <dt>Commit</dt>
        <dd>
          {diff.from.commit ? <code>{shortSha(diff.from.commit)}</code> : 'none'} → {diff.to.commit ? <code>{shortSha(diff.to.commit)}</code> : 'none'}
          {diff.to.project ? ` (${diff.to.project})` : ''}
        </dd>
      </dl>
      <h4>Config</h4>
      {diff.configChanges.length === 0 ? (
        <p>No setting changed.</p>
      ) : (
        <table class="list">
          <caption class="sr-only">Settings that differ</caption>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">#{from}</th>
              <th scope="col">#{to}</th>
            </tr>
          </thead>
          <tbody>
            {diff.configChanges.map((c) => (
              <tr key={c.path}>
                <th scope="row">
                  <code>{c.path}</code>
                </th>
                <td class={c.from === undefined ? 'hint' : ''} data-label={`#${from}`}>
                  {shown(c.from)}
                </td>
                <td class={c.to === undefined ? 'hint' : ''} data-label={`#${to}`}>
                  {shown(c.to)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {diff.configTruncated ? <p class="hint">Only the first 200 changed settings are listed.</p> : null}
      <h4>Commits</h4>
      {diff.commitsUnavailable ? (
        <p class="hint">Not known: {diff.commitsUnavailable}.</p>
      ) : diff.commits.length === 0 && diff.commitsRemoved.length === 0 ? (
        <p>The same commit.</p>
      ) : null}
      {diff.commits.length > 0 ? (
        <>
          <p>
            {plural(diff.commits.length)} in #{to} that #{from} does not have:
          </p>
          <Commits commits={diff.commits} label={`commits in revision ${to} only`} />
        </>
      ) : null}
      {diff.commitsRemoved.length > 0 ? (
        <>
          <p>
            {plural(diff.commitsRemoved.length)} in #{from} that #{to} does not have (going back):
          </p>
          <Commits commits={diff.commitsRemoved} label={`commits in revision ${from} only`} />
        </>
      ) : null}
      {diff.truncated ? <p class="hint">Only the newest 200 on each side are listed.</p> : null}
    </section>
  );
}
