// Where a webhook run fetches its commit from. Anyone who can sign a delivery (a leaked webhook
// secret, a forge admin) chooses its clone URL, so the URL must be one git can only fetch over the
// network (https, http, ssh) and must be on the forge that signed it: the project's configured
// remote when it has one, else the forge's own host.
import { remoteHost, remoteUrlProblem } from '../git/index.js';
import type { Project } from '../store/types.js';
import type { Provider, Push } from './webhooks.js';

/** What a delivery says of where its commit is: a push's or a pull request's base repository. */
export type DeliveredRepository = Pick<Push, 'cloneUrl' | 'webUrl'>;
import { outboundHostProblem } from './outbound.js';

export type WebhookRemote = { url: string } | { url?: undefined; problem: string };

/** The host of an API URL without its `api.` label: api.github.com → github.com. */
function forgeHostOfApi(apiUrl: string): string | undefined {
  return remoteHost(apiUrl)?.replace(/^api\./, '');
}

/** The host the forge of this project lives on, as far as anything but the delivery tells. */
function forgeHost(provider: Provider, push: DeliveredRepository, project: Project): string | undefined {
  if (project.commitStatus?.apiUrl) return forgeHostOfApi(project.commitStatus.apiUrl);
  if (provider === 'github') return 'github.com';
  // a self-hosted Gitea or GitLab with nothing configured: the delivery's own repository page
  return push.webUrl ? remoteHost(push.webUrl) : undefined;
}

/**
 * The URL a delivery's commit is fetched from, or why none may be. A project with a
 * configured remote always fetches from it; the delivery's clone URL must then name the same
 * host, so that a delivery cannot move the run to another server.
 */
export function webhookRemote(provider: Provider, push: DeliveredRepository, project: Project): WebhookRemote {
  if (project.remoteUrl) return { url: project.remoteUrl };
  if (push.cloneUrl === undefined) return { problem: 'the delivery names no clone URL and the project has no remote configured' };
  const problem = remoteUrlProblem(push.cloneUrl) ?? forgeUrlProblem(push.cloneUrl);
  if (problem) return { problem };
  const expected = forgeHost(provider, push, project);
  const host = remoteHost(push.cloneUrl);
  if (!expected) return { problem: `the clone URL's host cannot be checked: set the project's remote (PUT /api/projects/${project.name}/remote)` };
  if (host !== expected) return { problem: `the clone URL is on ${host ?? 'no host'}, not on the forge (${expected}); set the project's remote if the repository lives elsewhere` };
  return { url: push.cloneUrl };
}

/** Why the server must not fetch from this URL's host (cloud metadata, link-local), or undefined. */
export function forgeUrlProblem(url: string): string | undefined {
  const host = remoteHost(url);
  if (!host) return 'it has no host';
  const problem = outboundHostProblem(host);
  return problem ? `${problem}; nothing is fetched from there` : undefined;
}
