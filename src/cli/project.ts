// `slipway project create | list` and `slipway webhook PROJECT`: the projects of the server, and
// what to paste into GitHub, Gitea/Forgejo or GitLab so that their pushes run here.
import { randomBytes } from 'node:crypto';
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { RemoteClient } from './remote.js';
import { table } from './history.js';

const PROJECT_HELP = `usage: slipway project create NAME
       slipway project list [--json]

Creates or lists the projects of the server at $SLIPWAY_URL (creating needs the admin scope).
A project name is 1–63 lowercase letters, digits and single ".", "_" or "-" between them.
A git push to http://HOST/git/NAME.git creates one too (unless the server says --no-auto-create).
      --json   print JSON
  -h, --help   this help
`;

export const project: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { json: { type: 'boolean' } }, PROJECT_HELP);
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(PROJECT_HELP);
    return EXIT_OK;
  }
  const [action, ...rest] = parsed.positionals;
  const client = (): RemoteClient => RemoteClient.fromEnv(io, 'project');
  if (action === 'create') {
    if (rest.length !== 1) throw new UsageError(`create takes one project name, got ${rest.length}\n\n${PROJECT_HELP}`);
    const created = await client().call('createProject', { body: { name: rest[0]! } });
    io.stdout.write(v.json ? `${JSON.stringify(created, null, 2)}\n` : `project ${created.name} created; push to ${client().url}/git/${created.name}.git\n`);
    return EXIT_OK;
  }
  if (action === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no arguments\n\n${PROJECT_HELP}`);
    const { projects } = await client().call('listProjects');
    if (v.json) io.stdout.write(`${JSON.stringify(projects, null, 2)}\n`);
    else if (projects.length === 0) io.stdout.write('no projects\n');
    else {
      io.stdout.write(
        table([
          ['NAME', 'CREATED', 'WEBHOOK', 'COMMIT STATUS', 'REMOTE'],
          ...projects.map((p) => [p.name, new Date(p.createdAtMs).toISOString().slice(0, 10), p.hasWebhookSecret ? 'yes' : 'no', p.commitStatus?.provider ?? '-', p.remoteUrl ?? '-']),
        ]),
      );
    }
    return EXIT_OK;
  }
  throw new UsageError(`${action === undefined ? 'give an action' : `unknown action '${action}'`}: create or list\n\n${PROJECT_HELP}`);
};

const WEBHOOK_HELP = `usage: slipway webhook PROJECT [--provider github|gitea|gitlab] [--json]

Sets a new webhook secret for PROJECT on the server at $SLIPWAY_URL (admin scope) — rotating the
old one — and prints exactly what to paste into the forge's webhook settings. The secret is shown
once; run it again to rotate.
      --provider P   github (default), gitea (Forgejo too) or gitlab
      --json         print JSON
  -h, --help         this help
`;

const PROVIDERS = ['github', 'gitea', 'gitlab'] as const;
type Provider = (typeof PROVIDERS)[number];

function instructions(provider: Provider, url: string, secret: string): string {
  switch (provider) {
    case 'github':
      return `In GitHub: Settings → Webhooks → Add webhook
  Payload URL    ${url}
  Content type   application/json
  Secret         ${secret}
  Events         Just the push event
`;
    case 'gitea':
      return `In Gitea or Forgejo: Settings → Webhooks → Add webhook → Gitea (or Forgejo)
  Target URL     ${url}
  HTTP method    POST
  Content type   application/json
  Secret         ${secret}
  Trigger on     Push events
`;
    case 'gitlab':
      return `In GitLab: Settings → Webhooks → Add new webhook
  URL            ${url}
  Secret token   ${secret}
  Trigger        Push events, Tag push events
`;
  }
}

export const webhook: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { provider: { type: 'string' }, json: { type: 'boolean' } }, WEBHOOK_HELP, { min: 1, max: 1, what: 'project name' });
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(WEBHOOK_HELP);
    return EXIT_OK;
  }
  const provider = (v.provider ?? 'github') as Provider;
  if (!PROVIDERS.includes(provider)) throw new UsageError(`--provider is one of ${PROVIDERS.join(', ')}, not '${v.provider}'`);
  const name = parsed.positionals[0]!;
  const client = RemoteClient.fromEnv(io, 'webhook');
  // hex: no character a forge's form or a shell could mangle
  const secret = randomBytes(32).toString('hex');
  await client.call('setWebhookSecret', { params: { name }, body: { secret } });
  const url = `${client.url}/hooks/${provider}/${encodeURIComponent(name)}`;
  if (v.json) io.stdout.write(`${JSON.stringify({ project: name, provider, url, contentType: 'application/json', secret, events: ['push'] }, null, 2)}\n`);
  else io.stdout.write(`webhook secret of ${name} set (the previous one no longer works)\n\n${instructions(provider, url, secret)}`);
  return EXIT_OK;
};
