// A throwaway PostgreSQL cluster for tests: initdb into a temp dir (as the postgres user when we
// are root, since PostgreSQL refuses to run as root), listening on 127.0.0.1 on a free port with
// its socket in the temp dir, tuned for speed (no fsync). Stopped and deleted by stop().
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PgCluster {
  port: number;
  /** a new, empty database; returns its URL */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

const NOT_INSTALLED =
  'PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): run scripts/setup.sh, which installs Debian\'s postgresql';

/** The newest Debian-packaged server binaries. */
function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(NOT_INSTALLED);
  return path.join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startCluster(): Promise<PgCluster> {
  const bin = findBinDir();
  const isRoot = process.getuid?.() === 0;
  // PostgreSQL will not run as root: hand the directory to the postgres user and run as it
  let asPostgres = (cmd: string, args: string[]): [string, string[]] => [cmd, args];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-pg-'));
  if (isRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid <= 0) throw new Error(`${NOT_INSTALLED} (there is no postgres user)`);
    await chown(dir, uid, gid);
    asPostgres = (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  }
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  const log = path.join(dir, 'postgres.log');
  await mkdir(socket);
  if (isRoot) await chown(socket, Number(spawnSync('id', ['-u', 'postgres']).stdout.toString()), Number(spawnSync('id', ['-g', 'postgres']).stdout.toString()));

  const exec = async (cmd: string, args: string[]): Promise<void> => {
    const [c, a] = asPostgres(path.join(bin, cmd), args);
    try {
      await run(c, a, { cwd: dir, timeout: 60_000 });
    } catch (error) {
      const tail = existsSync(log) ? (await readFile(log, 'utf8')).slice(-2000) : '';
      throw new Error(`${cmd} failed: ${(error as Error).message}\n${tail}`);
    }
  };

  await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = [
    `-h 127.0.0.1 -p ${port} -k ${socket}`,
    // a test cluster: losing it on a power cut is fine, speed is not optional
    '-c fsync=off -c synchronous_commit=off -c full_page_writes=off',
    '-c max_connections=300 -c shared_buffers=64MB',
  ].join(' ');
  await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);

  const stopNow = (): void => {
    spawnSync(...asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
  };
  // a test run that dies must not leave a server behind
  process.once('exit', stopNow);

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  let n = 0;
  return {
    port,
    async createDatabase() {
      const name = `slipway_test_${++n}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await admin.end().catch(() => undefined);
      stopNow();
      process.removeListener('exit', stopNow);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
