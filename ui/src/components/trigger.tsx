// What started a run, in words: the event, and for a pull request its number (a link to the forge
// when its URL is known), its branch into the base branch, and whether it comes from a fork.
import type { JSX } from 'preact';
import type { RunSummary } from '../../../src/api/index.js';

/** Only links to the web: a URL from a webhook is data, never a script. */
function webUrl(url: string | undefined): string | undefined {
  return url !== undefined && /^https?:\/\//i.test(url) ? url : undefined;
}

export function TriggerText({ trigger }: { trigger: RunSummary['trigger'] }): JSX.Element {
  const pr = trigger.pullRequest;
  if (!pr) return <>{trigger.event}</>;
  const href = webUrl(pr.url);
  const label = `pull request #${pr.number}`;
  return (
    <span class="trigger-pr" title={pr.title ?? ''}>
      {href ? (
        <a href={href} rel="noreferrer" target="_blank">
          {label}
        </a>
      ) : (
        label
      )}{' '}
      ({pr.head} → {pr.base}){pr.fork ? <span class="badge s-skipped"> fork</span> : null}
    </span>
  );
}
