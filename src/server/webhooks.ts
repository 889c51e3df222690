// Webhooks from GitHub, Gitea/Forgejo and GitLab: signature (or token) checked in constant time
// over the raw body, then the payload read into one Push (or PullRequestEvent) shape. Nothing here
// touches the store: the server records the delivery id (de-duplication) and queues runs in one
// transaction.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { object, optionalText, parseJsonBody, SHA, text, WebhookError, type Json } from './webhook-payload.js';
import { isPullRequestEventName, parsePullRequest, type PullRequestEvent } from './webhook-pull-requests.js';

export { WebhookError } from './webhook-payload.js';
export type { PullRequestAction, PullRequestEvent } from './webhook-pull-requests.js';

export type Provider = 'github' | 'gitea' | 'gitlab';
export const PROVIDERS: readonly Provider[] = ['github', 'gitea', 'gitlab'];
export const ZERO = '0'.repeat(40);

export interface Push {
  kind: 'push';
  deliveryId: string;
  /** the repository's short name, as the default project name */
  repository: string;
  fullName: string;
  cloneUrl?: string;
  /** the repository's page on the forge (html_url, web_url): the host a clone URL must be on */
  webUrl?: string;
  ref: string;
  branch?: string;
  tag?: string;
  before: string;
  after: string;
  isDeleted: boolean;
  commitMessage?: string;
  /** ISO time of the head commit, for lead time */
  commitTimestamp?: string;
  sender: string;
}

export type WebhookEvent = Push | PullRequestEvent | { kind: 'ping'; deliveryId: string } | { kind: 'unsupported'; deliveryId: string; event: string };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // compare equal-length buffers always, so the time says nothing about where they differ
  const same = timingSafeEqual(createHmac('sha256', 'k').update(left).digest(), createHmac('sha256', 'k').update(right).digest());
  return same && left.length === right.length;
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The header a provider signs (or authenticates) a delivery with, if the delivery has it. */
function signatureOf(provider: Provider, headers: IncomingHttpHeaders): string | undefined {
  switch (provider) {
    case 'github':
      return header(headers, 'x-hub-signature-256');
    case 'gitea':
      return header(headers, 'x-gitea-signature') ?? header(headers, 'x-forgejo-signature') ?? header(headers, 'x-gogs-signature');
    case 'gitlab':
      return header(headers, 'x-gitlab-token');
  }
}

/** Whether the delivery carries the header its provider signs (or authenticates) it with. */
export function hasWebhookSignature(provider: Provider, headers: IncomingHttpHeaders): boolean {
  return signatureOf(provider, headers) !== undefined;
}

/** Throws WebhookError (401) unless the request carries a valid signature or token for `secret`. */
export function verifyWebhook(provider: Provider, headers: IncomingHttpHeaders, body: Buffer, secret: string): void {
  const given = signatureOf(provider, headers);
  const expected = provider === 'github' ? `sha256=${hmacHex(secret, body)}` : provider === 'gitea' ? hmacHex(secret, body) : secret;
  if (!given) throw new WebhookError('WEBHOOK_SIGNATURE_MISSING', 401, `the ${provider} webhook carries no signature; set the webhook secret in ${provider} to the project's`);
  if (!constantTimeEqual(given.trim(), expected)) throw new WebhookError('WEBHOOK_SIGNATURE_INVALID', 401, `the ${provider} webhook signature does not match the project's secret`);
}

export function webhookDeliveryId(provider: Provider, headers: IncomingHttpHeaders): string {
  const id =
    provider === 'github'
      ? header(headers, 'x-github-delivery')
      : provider === 'gitea'
        ? (header(headers, 'x-gitea-delivery') ?? header(headers, 'x-forgejo-delivery') ?? header(headers, 'x-gogs-delivery'))
        : (header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-webhook-uuid'));
  if (!id || id.length > 200) throw new WebhookError('WEBHOOK_DELIVERY_MISSING', 400, `the ${provider} webhook has no delivery id header`);
  return id;
}

function eventName(provider: Provider, headers: IncomingHttpHeaders): string {
  const name =
    provider === 'github'
      ? header(headers, 'x-github-event')
      : provider === 'gitea'
        ? (header(headers, 'x-gitea-event') ?? header(headers, 'x-forgejo-event') ?? header(headers, 'x-gogs-event'))
        : header(headers, 'x-gitlab-event');
  return name ?? '';
}

const REF = /^refs\/[^\0\s]{1,250}$/;

function refParts(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

/** Reads a delivery's payload; a ping or an event other than a push or pull request comes back as such. */
export function parseWebhook(provider: Provider, headers: IncomingHttpHeaders, body: Buffer): WebhookEvent {
  const deliveryId = webhookDeliveryId(provider, headers);
  const event = eventName(provider, headers);
  if (provider === 'github' && event === 'ping') return { kind: 'ping', deliveryId };
  if (isPullRequestEventName(provider, event)) return parsePullRequest(provider, deliveryId, parseJsonBody(body));
  const isPush = provider === 'gitlab' ? event === 'Push Hook' || event === 'Tag Push Hook' : event === 'push';
  if (!isPush) return { kind: 'unsupported', deliveryId, event: event || '(none)' };
  const payload = parseJsonBody(body);
  const ref = text(payload.ref, 'ref', REF);
  const before = text(payload.before, 'before', SHA);
  const after = text(payload.after, 'after', SHA);
  if (provider === 'gitlab') {
    const project = object(payload.project, 'project');
    const commits = Array.isArray(payload.commits) ? (payload.commits as Json[]) : [];
    const head = commits.find((c) => c.id === after) ?? commits.at(-1);
    return {
      kind: 'push',
      deliveryId,
      repository: text(project.name ?? project.path, 'project.name'),
      fullName: text(project.path_with_namespace, 'project.path_with_namespace'),
      ...(optionalText(project.git_http_url) ? { cloneUrl: optionalText(project.git_http_url)! } : {}),
      ...(optionalText(project.web_url) ? { webUrl: optionalText(project.web_url)! } : {}),
      ref,
      ...refParts(ref),
      before,
      after,
      isDeleted: /^0+$/.test(after),
      ...(optionalText(head?.message) ? { commitMessage: optionalText(head?.message)! } : {}),
      ...(optionalText(head?.timestamp) ? { commitTimestamp: optionalText(head?.timestamp)! } : {}),
      sender: optionalText(payload.user_username) ?? optionalText(payload.user_name) ?? 'gitlab',
    };
  }
  const repository = object(payload.repository, 'repository');
  const head = payload.head_commit ? object(payload.head_commit, 'head_commit') : undefined;
  const sender = payload.sender ? object(payload.sender, 'sender') : {};
  const pusher = payload.pusher ? object(payload.pusher, 'pusher') : {};
  return {
    kind: 'push',
    deliveryId,
    repository: text(repository.name, 'repository.name'),
    fullName: text(repository.full_name, 'repository.full_name'),
    ...(optionalText(repository.clone_url) ? { cloneUrl: optionalText(repository.clone_url)! } : {}),
    ...(optionalText(repository.html_url) ? { webUrl: optionalText(repository.html_url)! } : {}),
    ref,
    ...refParts(ref),
    before,
    after,
    isDeleted: payload.deleted === true || /^0+$/.test(after),
    ...(optionalText(head?.message) ? { commitMessage: optionalText(head?.message)! } : {}),
    ...(optionalText(head?.timestamp) ? { commitTimestamp: optionalText(head?.timestamp)! } : {}),
    sender: optionalText(sender.login) ?? optionalText(pusher.name) ?? optionalText(pusher.username) ?? provider,
  };
}
