// Pull request deliveries — GitHub's and Gitea/Forgejo's `pull_request`, GitLab's `Merge Request
// Hook` — read into one PullRequestEvent. Anyone who can open a pull request chooses its branch
// names and title, so each field is checked as hostile: numbers in range, commit ids in full,
// branch names that are safe refs and read as no option, page URLs that are http(s).
import { isSafeBranchName } from '../git/index.js';
import type { Provider } from './webhooks.js';
import { invalid, object, optionalObject, optionalText, SHA, text, type Json } from './webhook-payload.js';

/** What happened to the pull request; GitHub's words (Gitea's `synchronized`, GitLab's update with a new commit: synchronize). */
export type PullRequestAction = 'opened' | 'synchronize' | 'reopened' | 'closed';

export interface PullRequestEvent {
  kind: 'pull_request';
  deliveryId: string;
  action: PullRequestAction;
  number: number;
  /** the branch it would merge into */
  base: string;
  /** its branch (on the fork, for a pull request from a fork) */
  head: string;
  headSha: string;
  /**
   * The head repository's clone URL, as the forge sent it: never fetched from — the base
   * repository's pull request ref has the same commit, on the forge that signed the delivery.
   */
  headCloneUrl?: string;
  /** the base repository (the one the webhook is set on): short name, owner/name, clone URL, page */
  repository: string;
  fullName: string;
  cloneUrl?: string;
  webUrl?: string;
  /** from another repository than the base: its runs get no secrets and cannot deploy */
  isFork: boolean;
  /** closed by merging */
  merged: boolean;
  title?: string;
  /** the pull request's page on the forge */
  url?: string;
  /** GitLab names the head commit's message and time; GitHub and Gitea do not */
  commitMessage?: string;
  commitTimestamp?: string;
  sender: string;
}

/** A pull request delivery Slipway does not act on (labeled, edited, an update without a new commit…). */
export interface IgnoredPullRequest {
  kind: 'unsupported';
  deliveryId: string;
  event: string;
}

const MAX_NUMBER = 2_147_483_647;
const MAX_URL_LENGTH = 2048;

/** Whether a delivery's event header names a pull request event of its provider. */
export function isPullRequestEventName(provider: Provider, event: string): boolean {
  if (provider === 'gitlab') return event === 'Merge Request Hook';
  // Gitea names the specific kind in X-Gitea-Event-Type; some versions put it in X-Gitea-Event
  return event === 'pull_request' || (provider === 'gitea' && event === 'pull_request_sync');
}

export function parsePullRequest(provider: Provider, deliveryId: string, payload: Json): PullRequestEvent | IgnoredPullRequest {
  switch (provider) {
    case 'github':
      return github(deliveryId, payload);
    case 'gitea':
      return gitea(deliveryId, payload);
    case 'gitlab':
      return gitlab(deliveryId, payload);
  }
}

const GITHUB_ACTIONS: Record<string, PullRequestAction> = { opened: 'opened', synchronize: 'synchronize', reopened: 'reopened', closed: 'closed' };
const GITEA_ACTIONS: Record<string, PullRequestAction> = { opened: 'opened', synchronized: 'synchronize', reopened: 'reopened', closed: 'closed' };

function github(deliveryId: string, payload: Json): PullRequestEvent | IgnoredPullRequest {
  const raw = text(payload.action, 'action');
  const action = Object.hasOwn(GITHUB_ACTIONS, raw) ? GITHUB_ACTIONS[raw] : undefined;
  if (!action) return ignored(deliveryId, 'pull_request', raw);
  const pr = object(payload.pull_request, 'pull_request');
  const head = object(pr.head, 'pull_request.head');
  const base = object(pr.base, 'pull_request.base');
  const baseRepo = object(base.repo, 'pull_request.base.repo');
  // null when the fork it came from was deleted: from elsewhere all the same
  const headRepo = optionalObject(head.repo, 'pull_request.head.repo');
  const baseName = name(baseRepo.full_name, 'pull_request.base.repo.full_name');
  const sender = optionalObject(payload.sender, 'sender') ?? {};
  return {
    ...common(deliveryId, action, payload.number, pr.number),
    ...repository(object(payload.repository, 'repository'), 'repository'),
    base: branch(base.ref, 'pull_request.base.ref'),
    head: branch(head.ref, 'pull_request.head.ref'),
    headSha: text(head.sha, 'pull_request.head.sha', SHA),
    ...optional('headCloneUrl', headRepo ? cloneUrl(headRepo.clone_url, 'pull_request.head.repo.clone_url') : undefined),
    isFork: !headRepo || optionalText(headRepo.full_name) !== baseName,
    merged: pr.merged === true,
    ...optional('title', title(pr.title)),
    ...optional('url', pageUrl(pr.html_url, 'pull_request.html_url')),
    sender: person(optionalText(sender.login), 'github'),
  };
}

function gitea(deliveryId: string, payload: Json): PullRequestEvent | IgnoredPullRequest {
  const raw = text(payload.action, 'action');
  const action = Object.hasOwn(GITEA_ACTIONS, raw) ? GITEA_ACTIONS[raw] : undefined;
  if (!action) return ignored(deliveryId, 'pull_request', raw);
  const pr = object(payload.pull_request, 'pull_request');
  const head = object(pr.head, 'pull_request.head');
  const base = object(pr.base, 'pull_request.base');
  const sender = optionalObject(payload.sender, 'sender') ?? {};
  const headRepo = optionalObject(head.repo, 'pull_request.head.repo');
  return {
    ...common(deliveryId, action, payload.number, pr.number),
    ...repository(object(payload.repository, 'repository'), 'repository'),
    base: branch(base.ref, 'pull_request.base.ref'),
    head: branch(head.ref, 'pull_request.head.ref'),
    headSha: text(head.sha, 'pull_request.head.sha', SHA),
    ...optional('headCloneUrl', headRepo ? cloneUrl(headRepo.clone_url, 'pull_request.head.repo.clone_url') : undefined),
    isFork: giteaIsFork(head, base),
    merged: pr.merged === true,
    ...optional('title', title(pr.title)),
    ...optional('url', pageUrl(pr.html_url, 'pull_request.html_url')),
    sender: person(optionalText(sender.login) ?? optionalText(sender.username), 'gitea'),
  };
}

/** Gitea names each side's repository by id (and, in newer versions, in full): when neither tells, it counts as a fork. */
function giteaIsFork(head: Json, base: Json): boolean {
  if (Number.isSafeInteger(head.repo_id) && Number.isSafeInteger(base.repo_id)) return head.repo_id !== base.repo_id;
  const headName = optionalText(optionalObject(head.repo, 'pull_request.head.repo')?.full_name);
  const baseName = optionalText(optionalObject(base.repo, 'pull_request.base.repo')?.full_name);
  return headName === undefined || headName !== baseName;
}

function gitlab(deliveryId: string, payload: Json): PullRequestEvent | IgnoredPullRequest {
  const attributes = object(payload.object_attributes, 'object_attributes');
  const raw = text(attributes.action, 'object_attributes.action');
  const merged = raw === 'merge';
  let action: PullRequestAction | undefined;
  if (raw === 'open') action = 'opened';
  else if (raw === 'reopen') action = 'reopened';
  else if (raw === 'close' || raw === 'merge') action = 'closed';
  // an update carries oldrev only when commits were pushed; a new title or label runs nothing
  else if (raw === 'update' && attributes.oldrev !== undefined && attributes.oldrev !== null) {
    text(attributes.oldrev, 'object_attributes.oldrev', SHA);
    action = 'synchronize';
  }
  if (!action) return ignored(deliveryId, 'merge_request', raw === 'update' ? 'update without new commits' : raw);
  const lastCommit = object(attributes.last_commit, 'object_attributes.last_commit');
  const source = optionalObject(attributes.source, 'object_attributes.source');
  const user = optionalObject(payload.user, 'user') ?? {};
  const project = object(payload.project, 'project');
  const timestamp = optionalText(lastCommit.timestamp);
  return {
    ...common(deliveryId, action, attributes.iid, undefined),
    repository: name(project.name ?? project.path, 'project.name'),
    fullName: name(project.path_with_namespace, 'project.path_with_namespace'),
    ...optional('cloneUrl', cloneUrl(project.git_http_url, 'project.git_http_url')),
    ...optional('webUrl', pageUrl(project.web_url, 'project.web_url')),
    base: branch(attributes.target_branch, 'object_attributes.target_branch'),
    head: branch(attributes.source_branch, 'object_attributes.source_branch'),
    headSha: text(lastCommit.id, 'object_attributes.last_commit.id', SHA),
    ...optional('headCloneUrl', source ? cloneUrl(source.git_http_url, 'object_attributes.source.git_http_url') : undefined),
    // a deleted source project leaves source_project_id null: from elsewhere all the same
    isFork: !Number.isSafeInteger(attributes.source_project_id) || attributes.source_project_id !== attributes.target_project_id,
    merged,
    ...optional('title', title(attributes.title)),
    ...optional('url', pageUrl(attributes.url, 'object_attributes.url')),
    ...optional('commitMessage', optionalText(lastCommit.message)?.slice(0, 2000)),
    ...optional('commitTimestamp', timestamp !== undefined && !Number.isNaN(Date.parse(timestamp)) ? timestamp : undefined),
    sender: person(optionalText(user.username) ?? optionalText(user.name), 'gitlab'),
  };
}

function ignored(deliveryId: string, event: string, action: string): IgnoredPullRequest {
  return { kind: 'unsupported', deliveryId, event: `${event} (${action.replace(/[^\w -]/g, '').slice(0, 60)})` };
}

/** The fields every provider has: the action and the number, which must agree where sent twice. */
function common(deliveryId: string, action: PullRequestAction, number: unknown, again: unknown): Pick<PullRequestEvent, 'kind' | 'deliveryId' | 'action' | 'number'> {
  const value = number ?? again;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_NUMBER) throw invalid(`the pull request number is missing or not a number from 1 to ${MAX_NUMBER}`);
  if (again !== undefined && again !== value) throw invalid('number and pull_request.number differ');
  return { kind: 'pull_request', deliveryId, action, number: value };
}

function repository(repo: Json, what: string): Pick<PullRequestEvent, 'repository' | 'fullName' | 'cloneUrl' | 'webUrl'> {
  return {
    repository: name(repo.name, `${what}.name`),
    fullName: name(repo.full_name, `${what}.full_name`),
    ...optional('cloneUrl', cloneUrl(repo.clone_url, `${what}.clone_url`)),
    ...optional('webUrl', pageUrl(repo.html_url, `${what}.html_url`)),
  };
}

function branch(value: unknown, what: string): string {
  const ref = text(value, what);
  if (!isSafeBranchName(ref)) throw invalid(`${what} ${JSON.stringify(ref.slice(0, 100))} is not a branch name git would take as one`);
  return ref;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const HAS_CONTROL = new RegExp(CONTROL.source);

/** A repository's name: one line, of bounded length. */
function name(value: unknown, what: string): string {
  const given = text(value, what);
  if (given.length === 0 || given.length > 300 || HAS_CONTROL.test(given)) throw invalid(`${what} is empty, too long or has control characters`);
  return given;
}

/**
 * A clone URL as sent: bounded here, judged by webhookRemote when it is to be fetched from (a
 * URL that may not be is a 422 there, as for pushes).
 */
function cloneUrl(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const url = text(value, what);
  if (url.length > MAX_URL_LENGTH) throw invalid(`${what} is longer than ${MAX_URL_LENGTH} characters`);
  return url;
}

/** A title is what a person typed: kept on one line and short, never refused. */
function title(value: unknown): string | undefined {
  const given = optionalText(value);
  return given === undefined ? undefined : given.replace(CONTROL, ' ').slice(0, 300);
}

/** A clone URL or page that a person may be shown as a link: http(s) only, when there is one. */
function pageUrl(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const url = text(value, what);
  let parsed: URL | undefined;
  try {
    parsed = url.length <= MAX_URL_LENGTH ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) throw invalid(`${what} is not an http(s) URL`);
  return url;
}

function person(login: string | undefined, fallback: string): string {
  return (login ?? fallback).replace(CONTROL, '').slice(0, 200) || fallback;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
