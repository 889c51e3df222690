// `slipway registry serve|gc`: the OCI registry alone, without the rest of the server.
import http from 'node:http';
import path from 'node:path';
import { collectGarbageIn, createRegistry, ensureAdminToken, RegistryPaths, staticTokens } from '../registry/index.js';
import { EXIT_OK, UsageError, type CliIO, type Command } from './io.js';

const USAGE = `usage: slipway registry serve [--port 5000] [--host 127.0.0.1] [--data DIR]
       slipway registry gc [--data DIR] [--dry-run] [--grace-minutes 60]

serve   runs the OCI registry at http://HOST:PORT/v2/; on first start prints an admin token
        (kept in DIR/admin-token; SLIPWAY_ADMIN_TOKEN sets it instead)
gc      removes blobs that no manifest references and abandoned uploads
--data  the data directory (default: $SLIPWAY_DATA or ./slipway-data)
`;

export const registry: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(USAGE);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub === 'serve') return serve(parseFlags(rest, ['port', 'host', 'data'], []), io);
  if (sub === 'gc') return gc(parseFlags(rest, ['data', 'grace-minutes'], ['dry-run']), io);
  throw new UsageError(`unknown subcommand '${sub}' (serve, gc)`);
};

type Flags = Map<string, string | true>;

function parseFlags(argv: string[], valued: string[], booleans: string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) throw new UsageError(`unexpected argument '${arg}'`);
    const name = m[1];
    if (booleans.includes(name)) {
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return flags;
}

function dataDir(flags: Flags, io: CliIO): string {
  const v = flags.get('data');
  return path.resolve(io.cwd, typeof v === 'string' ? v : io.env.SLIPWAY_DATA ?? 'slipway-data');
}

async function serve(flags: Flags, io: CliIO): Promise<number> {
  const portText = flags.get('port');
  const port = typeof portText === 'string' ? Number(portText) : 5000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not '${String(portText)}'`);
  const hostFlag = flags.get('host');
  const host = typeof hostFlag === 'string' ? hostFlag : '127.0.0.1';
  const dir = dataDir(flags, io);

  const admin = await ensureAdminToken(new RegistryPaths(dir), io.env);
  if (admin.created) {
    io.stdout.write(`admin token (shown once; kept in ${path.join(dir, 'admin-token')}):\n  ${admin.token}\n`);
  }
  const reg = createRegistry({
    dataDir: dir,
    auth: { verifier: staticTokens([{ secret: admin.token, scopes: ['admin'] }]) },
    log: (m) => io.stderr.write(`${m}\n`),
  });
  const server = http.createServer(
    {
      // large socket buffers: blobs are pushed and pulled in hundreds of MB
      highWaterMark: 1024 * 1024,
      // no overall cap: a big layer on a slow link legitimately takes long
      requestTimeout: 0,
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      if (reg.handle(req, res)) return;
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found: the registry lives at /v2/\n');
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  io.stdout.write(`registry listening on http://${host}:${actualPort}/v2/ (data: ${dir})\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      reg.close();
      server.close(() => resolve());
      server.closeIdleConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT_OK;
}

async function gc(flags: Flags, io: CliIO): Promise<number> {
  const graceText = flags.get('grace-minutes');
  const graceMinutes = typeof graceText === 'string' ? Number(graceText) : 60;
  if (!Number.isFinite(graceMinutes) || graceMinutes < 0) throw new UsageError('--grace-minutes must be a number of minutes');
  const report = await collectGarbageIn(dataDir(flags, io), { dryRun: flags.get('dry-run') === true, gracePeriodMs: graceMinutes * 60_000 });
  const verb = report.dryRun ? 'would remove' : 'removed';
  for (const d of report.deleted) io.stdout.write(`${verb} ${d}\n`);
  io.stdout.write(
    `${report.repositories} repositories, ${report.manifests} manifests, ${report.blobsMarked} blobs in use; ` +
      `${verb} ${report.blobsDeleted} blobs (${report.bytesFreed} bytes), ${report.linksRemoved} links, ${report.uploadsPurged} abandoned uploads\n`,
  );
  return EXIT_OK;
}
