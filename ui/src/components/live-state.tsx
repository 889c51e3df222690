// The header's word on whether what the page shows follows the server as it changes.
import type { JSX } from 'preact';
import { useStreamState } from '../live.js';

export function LiveState(): JSX.Element | null {
  const state = useStreamState();
  if (state === 'off') return null;
  return (
    <span class={`live-state ${state}`} role="status" title={state === 'live' ? 'changes show as they happen' : 'the connection to the server dropped; reading again every few seconds until it is back'}>
      {state === 'live' ? '● live' : '○ reconnecting…'}
    </span>
  );
}
