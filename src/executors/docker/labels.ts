// Labels on everything a run creates in Docker, so that what a killed process left behind can be
// found and reaped by the next one. Ownership is the process (pid + start time, so a reused pid
// is not mistaken for the owner) on this host.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export const LABEL_MANAGED = 'io.slipway.managed';
export const LABEL_RUN = 'io.slipway.run';
export const LABEL_JOB = 'io.slipway.job';
export const LABEL_OWNER = 'io.slipway.owner';

/** `host/pid/starttime` of a process; starttime from /proc where there is one. */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces; fields after it are fixed
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${os.hostname()}/${pid}/${fields[19] ?? '0'}`;
  } catch {
    return undefined;
  }
}

export const ownerIdentity: string = processIdentity(process.pid) ?? `${os.hostname()}/${process.pid}/0`;

/** Whether the owner named by a label is still running (unknown hosts count as alive). */
export function isOwnerAlive(owner: string): boolean {
  const [host, pidText] = owner.split('/');
  if (host !== os.hostname()) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return processIdentity(pid) === owner;
}

export function runLabels(runId: string, jobName: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_JOB]: jobName, [LABEL_OWNER]: ownerIdentity };
}
