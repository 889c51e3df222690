// The registry as the web UI browses it: repositories, a repository's tags with what each is and
// which environments run it, and deleting a tag (admins). Repository names hold slashes, so they
// travel in the query; they are checked against the registry's own grammar before any lookup.
import type { RegistryTag, RegistryTagList } from '../../api/schemas.js';
import { environmentStatuses } from '../../deploy/index.js';
import { HttpError } from '../../http/index.js';
import { isValidName, isValidTag, MAX_TAGS, parseImageReference } from '../../registry/index.js';
import type { AppContext } from '../app.js';
import { ValidationFailure, type Handlers } from './routing.js';

type RegistryRoute = 'listRepositories' | 'listRegistryTags' | 'deleteRegistryTag';
type TagEnvironment = RegistryTag['environments'][number];

function checkedRepository(name: string): string {
  if (!isValidName(name)) {
    throw new ValidationFailure('REGISTRY_NAME_INVALID', [{ field: 'repository', message: 'a repository name: lower-case letters and digits, components joined by . _ __ or -, separated by / (at most 255)' }]);
  }
  return name;
}

export function registryRoutes(ctx: AppContext): Handlers<RegistryRoute> {
  const { catalog } = ctx.registry;
  return {
    listRepositories: async () => catalog.listRepositories(),

    listRegistryTags: async ({ query }) => {
      const repository = checkedRepository(query.repository);
      const limit = query.limit === undefined ? undefined : Number(query.limit);
      if (limit !== undefined && (limit < 1 || limit > MAX_TAGS)) throw new ValidationFailure('REGISTRY_QUERY_INVALID', [{ field: 'limit', message: `limit is 1..${MAX_TAGS}` }]);
      const list = await catalog.listTags(repository, limit === undefined ? {} : { limit });
      if (!list) throw new HttpError(404, 'REGISTRY_NAME_UNKNOWN', `the registry has no repository ${JSON.stringify(repository)}`);
      const running = await environmentsByDigest(ctx, repository);
      const answer: RegistryTagList = {
        ...list,
        tags: list.tags.map((t) => ({ ...t, environments: running.byDigest.get(t.digest) ?? [] })),
        ...(running.unavailable !== undefined ? { environmentsUnavailable: running.unavailable } : {}),
      };
      return answer;
    },

    deleteRegistryTag: async ({ query, token }) => {
      const repository = checkedRepository(query.repository);
      // the schema's pattern is the same rule; checked again where the name meets the filesystem
      if (!isValidTag(query.tag)) throw new ValidationFailure('REGISTRY_QUERY_INVALID', [{ field: 'tag', message: 'a tag' }]);
      const deleted = await catalog.deleteTag(repository, query.tag);
      if (!deleted) throw new HttpError(404, 'REGISTRY_TAG_UNKNOWN', `the repository ${JSON.stringify(repository)} has no tag ${JSON.stringify(query.tag)}`);
      await ctx.store.appendAudit({ actor: token.name, action: 'registry.tag.delete', subject: `${repository}:${query.tag}`, details: { digest: deleted.digest } });
      return { ok: true as const, repository, tag: query.tag, digest: deleted.digest };
    },
  };
}

/** `localhost` and 127.0.0.1 name the same loopback registry. */
const sameHost = (a: string, b: string): boolean => a.replace(/^localhost(?=:|$)/, '127.0.0.1') === b.replace(/^localhost(?=:|$)/, '127.0.0.1');

/**
 * The environments whose current revision runs each digest, from the deploy status GET /api/status
 * answers. A reference with a digest matches that digest wherever it was pulled from (the content
 * is the same); a tag-only reference matches only when it names this registry and `repository`,
 * by the digest its tag points at now (which the environment runs unless the tag moved since).
 */
async function environmentsByDigest(ctx: AppContext, repository: string): Promise<{ byDigest: Map<string, TagEnvironment[]>; unavailable?: string }> {
  const byDigest = new Map<string, TagEnvironment[]>();
  let statuses;
  try {
    statuses = await environmentStatuses(ctx.deployTargets, ctx.deployDataDir);
  } catch (err) {
    // the tags are worth answering without them (the Docker engine down, a cluster unreachable)
    return { byDigest, unavailable: `the deploy targets did not answer: ${(err as Error).message}` };
  }
  for (const env of statuses) {
    const current = env.current;
    if (!current) continue;
    const ref = parseImageReference(current.image);
    if (!ref) continue;
    let digest: string | undefined;
    let matchedBy: TagEnvironment['matchedBy'] = 'digest';
    if (ref.digest) {
      digest = ref.digest.text;
    } else if (ref.tag !== undefined && ref.host !== undefined && ref.repository === repository && (ctx.registryHost === undefined || sameHost(ref.host, ctx.registryHost))) {
      digest = await ctx.registry.catalog.resolveTag(repository, ref.tag);
      matchedBy = 'tag';
    }
    if (digest === undefined) continue;
    const list = byDigest.get(digest) ?? [];
    list.push({ app: env.app, environment: env.environment, revision: current.number, image: current.image, matchedBy });
    byDigest.set(digest, list);
  }
  return { byDigest };
}
