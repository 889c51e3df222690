// `slipway secret set | list | rm`: a project's secrets on the server, as `gh secret` does them.
// A value is read from standard input or typed at a prompt that does not echo — never taken as
// an argument, where shell history and `ps` would keep it.
import { EXIT_OK, parseCommandLine, UsageError, type CliIO, type Command } from './io.js';
import { projectNameFor, RemoteClient } from './remote.js';

const HELP = `usage: slipway secret set KEY [--project P]     (the value from stdin, or typed at a prompt)
       slipway secret list [--project P] [--json]
       slipway secret rm KEY [--project P]

Manages the secrets of a project of the server at $SLIPWAY_URL ($SLIPWAY_TOKEN needs the admin
scope). Values are encrypted at rest, masked in logs, and never shown again.
  -p, --project P   the project (default: the name in ./slipway.yaml)
      --json        print JSON
  -h, --help        this help

examples:
  slipway secret set API_TOKEN < token.txt
  printf %s "$VALUE" | slipway secret set API_TOKEN --project shop
`;

const KEY = /^[A-Z_][A-Z0-9_]*$/;
const MAX_VALUE_BYTES = 64 * 1024;

/** The value from a pipe (trailing newline removed) or from a prompt that does not echo. */
export async function readSecretValue(io: CliIO, key: string): Promise<string> {
  const stdin = io.stdin ?? process.stdin;
  if (stdin.isTTY && stdin.setRawMode) return promptHidden(io, stdin, `value of ${key}: `);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_VALUE_BYTES) throw new UsageError(`the value is larger than ${MAX_VALUE_BYTES / 1024} KiB`);
    chunks.push(bytes);
  }
  const value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (value === '') throw new UsageError(`no value on standard input: pipe it in (slipway secret set ${key} < file) or run this on a terminal to be asked`);
  return value;
}

function promptHidden(io: CliIO, stdin: NonNullable<CliIO['stdin']>, question: string): Promise<string> {
  io.stderr.write(question);
  stdin.setRawMode!(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error): void => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer | string): void => {
      for (const char of data.toString()) {
        if (char === '\r' || char === '\n') return finish(value === '' ? new UsageError('no value given') : undefined);
        if (char === '\u0003') return finish(new UsageError('cancelled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}

export const secret: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { project: { type: 'string', short: 'p' }, json: { type: 'boolean' } }, HELP);
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const [action, ...rest] = parsed.positionals;
  const key = (): string => {
    if (rest.length !== 1) throw new UsageError(`${action} takes one secret name, got ${rest.length}${rest.length > 1 ? ' (the value is read from stdin, never taken as an argument)' : ''}\n\n${HELP}`);
    if (!KEY.test(rest[0]!)) throw new UsageError(`'${rest[0]}' is not a secret name: upper-case letters, digits and _ (e.g. API_TOKEN)`);
    return rest[0]!;
  };
  if (action === 'set') {
    const name = key();
    const project = await projectNameFor(io, v.project);
    const client = RemoteClient.fromEnv(io, 'secret');
    const value = await readSecretValue(io, name);
    await client.call('setSecret', { params: { name: project, secret: name }, body: { value } });
    io.stdout.write(`secret ${name} of ${project} set\n`);
    return EXIT_OK;
  }
  if (action === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no arguments\n\n${HELP}`);
    const project = await projectNameFor(io, v.project);
    const { names } = await RemoteClient.fromEnv(io, 'secret').call('listSecrets', { params: { name: project } });
    io.stdout.write(v.json ? `${JSON.stringify(names, null, 2)}\n` : names.length === 0 ? `no secrets in ${project}\n` : `${names.join('\n')}\n`);
    return EXIT_OK;
  }
  if (action === 'rm') {
    const name = key();
    const project = await projectNameFor(io, v.project);
    await RemoteClient.fromEnv(io, 'secret').call('deleteSecret', { params: { name: project, secret: name } });
    io.stdout.write(`secret ${name} of ${project} removed\n`);
    return EXIT_OK;
  }
  throw new UsageError(`${action === undefined ? 'give an action' : `unknown action '${action}'`}: set, list or rm\n\n${HELP}`);
};
