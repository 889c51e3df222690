// A run's or job's state as a labelled badge (colour is never the only cue: the word is there).
import type { JSX } from 'preact';

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function ErrorNote({ error }: { error: unknown }): JSX.Element | null {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}
