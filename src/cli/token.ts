// `slipway token create | list | revoke`: the server's API, registry and git tokens, through its
// API (SLIPWAY_URL, SLIPWAY_TOKEN with the admin scope). A new token's secret is shown once.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { RemoteClient } from './remote.js';
import { table } from './history.js';
import { isTokenScope, scopesProblem } from '../store/tokens.js';
import { TOKEN_SCOPES, type TokenScope } from '../store/types.js';

const HELP = `usage: slipway token create --scopes S[,S…] [--name NAME] [--json]
       slipway token list [--json]
       slipway token revoke ID

Manages the tokens of the server at $SLIPWAY_URL ($SLIPWAY_TOKEN must have the admin scope).
A token is a password for the API, \`docker login\` (any user name) and git over HTTP.

scopes:
  read        list and read projects, runs, logs, revisions; pull from the registry
  run         read, and push with git, start, cancel and re-run runs, push images
  deploy      read, and deploy, roll back and promote to every environment
  deploy:ENV  read (the API), and deploy, roll back and promote to environment ENV
              only (several: --scopes deploy:staging,deploy:production; add read to pull)
  admin       everything, including tokens, projects and secrets

options:
      --scopes S  comma-separated scopes of the new token
      --name N    what the token is for (default: cli)
      --json      print JSON
  -h, --help      this help
`;

export const token: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { scopes: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  const v = parsed.values;
  const [action, ...rest] = parsed.positionals;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (action === 'create') {
    if (rest.length > 0) throw new UsageError(`create takes no arguments, got ${rest.join(' ')}\n\n${HELP}`);
    const scopes = (v.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (scopes.length === 0) throw new UsageError(`create needs --scopes (some of ${TOKEN_SCOPES.join(', ')}, deploy:ENV)\n\n${HELP}`);
    // refused here, before the server is asked, by the server's own rule
    const unknown = scopes.filter((s) => !isTokenScope(s));
    if (unknown.length > 0) {
      throw new UsageError(`unknown scope ${unknown.map((s) => `'${s}'`).join(', ')}: scopes are ${TOKEN_SCOPES.join(', ')} and deploy:ENV (ENV an environment name: letters, digits, _ . -; at most 63)`);
    }
    const problem = scopesProblem(scopes);
    if (problem) throw new UsageError(problem);
    const client = RemoteClient.fromEnv(io, 'token');
    const created = await client.call('createToken', { body: { name: v.name ?? 'cli', scopes: scopes as TokenScope[] } });
    if (v.json) io.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    else io.stdout.write(`token ${created.id} (${created.name}; ${created.scopes.join(', ')}), shown once:\n  ${created.secret}\n`);
    return EXIT_OK;
  }
  if (action === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no arguments, got ${rest.join(' ')}\n\n${HELP}`);
    const { tokens } = await RemoteClient.fromEnv(io, 'token').call('listTokens');
    if (v.json) {
      io.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      return EXIT_OK;
    }
    const when = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
    io.stdout.write(
      table([
        ['ID', 'NAME', 'SCOPES', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'],
        ...tokens.map((t) => [t.id, t.name, t.scopes.join(','), t.prefix, when(t.createdAtMs), when(t.lastUsedAtMs), when(t.revokedAtMs)]),
      ]),
    );
    return EXIT_OK;
  }
  if (action === 'revoke') {
    if (rest.length !== 1) throw new UsageError(`revoke takes one token id, got ${rest.length}\n\n${HELP}`);
    await RemoteClient.fromEnv(io, 'token').call('revokeToken', { params: { id: rest[0]! } });
    io.stdout.write(`token ${rest[0]} revoked\n`);
    return EXIT_OK;
  }
  throw new UsageError(`${action === undefined ? 'give an action' : `unknown action '${action}'`}: create, list or revoke\n\n${HELP}`);
};
