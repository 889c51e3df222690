// The registry: its repositories, and a repository's tags — digest (to copy), size, platforms,
// when built and pushed, and the environments running that digest. Admins delete a tag after a
// confirmation naming it and its digest; everyone else sees why they may not.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import type { ResponseOf } from '../../../src/api/index.js';
import { api, describeError } from '../api.js';
import { useLive } from '../live.js';
import { when } from '../format.js';
import { denied, type Session } from '../session.js';
import { ErrorNote } from '../components/status.js';

type Tag = ResponseOf<'listRegistryTags'>['tags'][number];

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Bytes as people read them (decimal units, as registries and `docker images` show sizes). */
export function humanSize(bytes: number | undefined): string {
  if (bytes === undefined) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** "5 minutes ago", "3 days ago": images can be years old, where a clock duration reads badly. */
export function relative(atMs: number | undefined, now = Date.now()): string {
  if (atMs === undefined) return '–';
  const s = Math.round((now - atMs) / 1000);
  if (s < 0) return 'in the future';
  const steps: Array<[number, string]> = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let value = s;
  for (const [size, name] of steps) {
    if (value < size) return value === 0 && name === 'second' ? 'just now' : `${value} ${name}${value === 1 ? '' : 's'} ago`;
    value = Math.floor(value / size);
  }
  return '–';
}

const shortDigest = (digest: string): string => {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
};

const platformText = (t: Tag): string =>
  t.platforms.length > 0 ? t.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`).join(', ') : t.artifactType ? `artifact ${t.artifactType}` : '–';

function CopyDigest({ tag, digest }: { tag: string; digest: string }): JSX.Element {
  const [said, setSaid] = useState<string | undefined>(undefined);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(digest);
      setSaid('Copied');
    } catch {
      // no clipboard outside a secure context (http on another host): the digest is in the title
      setSaid('Copy failed: select the digest');
    }
    setTimeout(() => setSaid(undefined), 2000);
  };
  return (
    <span class="digest-cell">
      <code class="digest" title={digest}>
        {shortDigest(digest)}
      </code>{' '}
      <button type="button" class="small" onClick={() => void copy()}>
        Copy<span class="sr-only"> the digest of {tag}</span>
      </button>
      {said ? (
        <span class="hint" role="status">
          {' '}
          {said}
        </span>
      ) : null}
    </span>
  );
}

function Repositories(): JSX.Element {
  const { value, error } = useLive(() => api.call('listRepositories'), [], ['registry'], { fallbackMs: 10_000 });
  return (
    <main>
      <h1>Registry</h1>
      <ErrorNote error={error} />
      {value && value.repositories.length === 0 ? (
        <p>
          The registry is empty. A run's <code>build:</code> job pushes here, as does <code>docker push {location.host}/NAME:TAG</code> with a token.
        </p>
      ) : null}
      {value && value.repositories.length > 0 ? (
        <table class="list registry-repos">
          <caption class="sr-only">Repositories of the registry</caption>
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {value.repositories.map((r) => (
              <tr key={r.name}>
                <th scope="row">
                  <a href={`/registry/${r.name}`}>{r.name}</a>
                </th>
                <td>{r.tagCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {value?.truncated ? <p class="hint">Showing the first {value.repositories.length} of {value.total} repositories.</p> : null}
      {!value && !error ? <p class="loading">Loading…</p> : null}
    </main>
  );
}

function Tags({ repository, session }: { repository: string; session: Session }): JSX.Element {
  const { value, error, reload } = useLive(() => api.call('listRegistryTags', { query: { repository } }), [repository], ['registry', 'environment'], {
    fallbackMs: 10_000,
    matches: (change) => change.repository === undefined || change.repository === repository,
  });
  const [message, setMessage] = useState<string | undefined>(undefined);
  const reason = denied(session, 'admin');
  const remove = async (t: Tag): Promise<void> => {
    const running = t.environments.map((e) => `${e.app}/${e.environment}`).join(', ');
    const question =
      `Delete the tag ${repository}:${t.tag} (${t.digest})?` +
      (running ? `\n\nIt runs in ${running}; those keep running (they run the digest).` : '') +
      `\n\nOnly the name goes: the image stays pullable by its digest.`;
    if (!confirm(question)) return;
    try {
      const deleted = await api.call('deleteRegistryTag', { query: { repository, tag: t.tag } });
      setMessage(`Tag ${t.tag} deleted (it pointed at ${shortDigest(deleted.digest)}).`);
    } catch (err) {
      setMessage(describeError(err));
    }
    reload();
  };
  return (
    <main>
      <h1>
        <a href="/registry">Registry</a> <span aria-hidden="true">›</span> {repository}
      </h1>
      <ErrorNote error={error} />
      {message ? <p role="status">{message}</p> : null}
      {value?.environmentsUnavailable ? <p class="hint">Which environments run each tag is not known right now: {value.environmentsUnavailable}</p> : null}
      {value && value.tags.length === 0 ? <p>No tags in {repository}.</p> : null}
      {value && value.tags.length > 0 ? (
        <table class="list registry-tags">
          <caption class="sr-only">Tags of {repository}, newest pushed first</caption>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Digest</th>
              <th scope="col">Size</th>
              <th scope="col">Platforms</th>
              <th scope="col">Created</th>
              <th scope="col">Pushed</th>
              <th scope="col">Running in</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {value.tags.map((t) => (
              <tr key={t.tag}>
                <th scope="row">{t.tag}</th>
                <td data-label="digest">
                  <CopyDigest tag={t.tag} digest={t.digest} />
                  {t.kind === 'index' ? <span class="badge kind">index</span> : null}
                  {t.note ? <span class="hint note">{t.note}</span> : null}
                </td>
                <td data-label="size">{humanSize(t.sizeBytes)}</td>
                <td data-label="platforms">{platformText(t)}</td>
                <td data-label="created" title={t.createdAtMs !== undefined ? when(t.createdAtMs) : undefined}>
                  {relative(t.createdAtMs)}
                </td>
                <td data-label="pushed" title={t.taggedAtMs !== undefined ? when(t.taggedAtMs) : undefined}>
                  {relative(t.taggedAtMs)}
                </td>
                <td data-label="running in">
                  {t.environments.length === 0
                    ? '–'
                    : t.environments.map((e) => (
                        <a
                          key={`${e.app}/${e.environment}`}
                          class="badge env-badge"
                          href="/environments"
                          title={`revision ${e.revision}: ${e.image}${e.matchedBy === 'tag' ? ' (by its tag, which points here now)' : ''}`}
                        >
                          {e.app}/{e.environment}
                        </a>
                      ))}
                </td>
                <td>
                  <button type="button" disabled={reason !== undefined} title={reason} aria-label={`Delete ${t.tag}${reason ? ` — ${reason}` : ''}`} onClick={() => void remove(t)}>
                    Delete{reason ? <span class="why"> — {reason}</span> : null}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {value?.truncated ? (
        <p class="hint">
          Showing the {value.tags.length} newest pushed of {value.tagCount} tags.
        </p>
      ) : null}
      {!value && !error ? <p class="loading">Loading the tags…</p> : null}
    </main>
  );
}

export function RegistryPage({ session, repository }: { session: Session; repository?: string }): JSX.Element {
  return repository ? <Tags key={repository} repository={repository} session={session} /> : <Repositories />;
}
