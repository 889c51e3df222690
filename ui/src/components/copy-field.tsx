// A value to copy once (a new token's or webhook's secret): read-only, with a Copy button.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';

/** A value to copy once: read-only, selected on focus, with a Copy button (and Ctrl+C as fallback). */
export function CopyField({ id, label, value }: { id: string; label: string; value: string }): JSX.Element {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async (): Promise<void> => {
    const input = document.getElementById(id) as HTMLInputElement | null;
    input?.focus();
    input?.select();
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      // no clipboard outside a secure context: the text is selected for Ctrl+C
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  };
  return (
    <div class="copy">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} type="text" readOnly value={value} spellcheck={false} autoComplete="off" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button type="button" onClick={() => void copy()}>
          Copy<span class="sr-only"> {label}</span>
        </button>
      </div>
      {copied ? (
        <p class="hint" role="status">
          {copied}
        </p>
      ) : null}
    </div>
  );
}

