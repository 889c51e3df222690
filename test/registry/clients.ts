// Running the real registry clients (docker, skopeo) from tests, and the multi-layer image
// they push, built once per test file from the local busybox with the classic builder.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.on('error', () => undefined); // a command that does not read its input is not a failure
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  });
  return { code, stdout, stderr };
}

/** Runs and fails with the command's own output when it does not exit 0. */
export async function ok(cmd: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A three-layer image of a few hundred KB of random data per layer, so that pushes carry several
 * distinct, incompressible blobs. Built with the classic builder (no BuildKit here).
 */
export async function buildMultiLayerImage(tag: string): Promise<void> {
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'slipway-registry-image-'));
  try {
    await writeFile(
      path.join(ctx, 'Dockerfile'),
      [
        'FROM busybox:latest',
        'RUN head -c 300000 /dev/urandom > /layer1',
        'RUN head -c 200000 /dev/urandom > /layer2',
        'RUN head -c 100000 /dev/urandom > /layer3',
        '',
      ].join('\n'),
    );
    await ok('docker', ['build', '-q', '-t', tag, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

export async function removeImages(refs: string[]): Promise<void> {
  if (refs.length > 0) await run('docker', ['rmi', '-f', ...refs]);
}
