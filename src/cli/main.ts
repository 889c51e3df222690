// The `slipway` command: picks the subcommand and maps failures to the contract's exit codes.
import { EXIT_USAGE, processIO, UsageError, type CliIO, type Command } from './io.js';
import { RemoteError } from './remote-error.js';

const commands: Record<string, { summary: string; load: () => Promise<Command>; hidden?: boolean }> = {
  init: { summary: 'write a slipway.yaml for this repository', load: async () => (await import('./init.js')).init },
  validate: { summary: 'check a pipeline file', load: async () => (await import('./validate.js')).validate },
  run: { summary: 'run the pipeline here, like the server would (--remote: on the server)', load: async () => (await import('./run.js')).run },
  server: { summary: 'the server: API, webhooks, git hosting, registry, runs', load: async () => (await import('./server.js')).server },
  logs: { summary: "a run's logs from the server (SLIPWAY_URL), -f to follow", load: async () => (await import('./logs.js')).logs },
  approve: { summary: 'approve a job that waits for approval (when: manual) on the server: it starts', load: async () => (await import('./approve.js')).approve },
  reject: { summary: 'reject a job that waits for approval: it is skipped with --reason', load: async () => (await import('./approve.js')).reject },
  cancel: { summary: 'cancel a queued or running run of the server (SLIPWAY_URL)', load: async () => (await import('./cancel.js')).cancel },
  runs: { summary: "the server's runs, newest first (--project, --branch, --status)", load: async () => (await import('./runs.js')).runs },
  project: { summary: "the server's projects: create, list", load: async () => (await import('./project.js')).project },
  secret: { summary: "a project's secrets on the server: set (value from stdin or a prompt), list, rm", load: async () => (await import('./secret.js')).secret },
  webhook: { summary: 'set (rotate) a project\'s webhook secret and print what to paste into the forge', load: async () => (await import('./project.js')).webhook },
  token: { summary: "the server's tokens: create --scopes, list, revoke (SLIPWAY_URL)", load: async () => (await import('./token.js')).token },
  registry: { summary: 'the OCI registry alone: serve, gc', load: async () => (await import('./registry.js')).registry },
  deploy: { summary: 'roll an image out to an environment (here, or on the server of SLIPWAY_URL)', load: async () => (await import('./deploy.js')).deploy },
  rollback: { summary: 'restore the previous (or a named) healthy revision', load: async () => (await import('./rollback.js')).rollback },
  scale: { summary: 'set the replica count of an environment, no new revision (here, or on the server)', load: async () => (await import('./scale.js')).scale },
  promote: { summary: "roll an environment's current image and config out to another (--from staging --to production)", load: async () => (await import('./promote.js')).promote },
  history: { summary: "an app's revisions: image, trigger, outcome, reason", load: async () => (await import('./history.js')).history },
  status: { summary: 'what is deployed where, and its health', load: async () => (await import('./status.js')).status },
  // the long-running deploy agent (proxies, health checks, self-healing); started by the commands above
  agent: { summary: 'the deploy agent', hidden: true, load: async () => async (argv) => (await import('../deploy/docker/index.js')).runAgent(argv) },
};

function usage(): string {
  const visible = Object.entries(commands).filter(([, c]) => !c.hidden);
  const width = Math.max(...visible.map(([name]) => name.length));
  const lines = visible.map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: slipway <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n'slipway <command> --help' shows a command's options.\n`;
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`slipway ${await version()}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr.write(`slipway: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await (await entry.load())(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`slipway ${name}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof RemoteError) {
      io.stderr.write(`slipway ${name}: ${err.describe()}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
