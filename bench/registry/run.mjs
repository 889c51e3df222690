#!/usr/bin/env node
// Registry benchmark: the same workload, in one run, against Slipway's registry and Debian's
// docker-registry (CNCF distribution) on loopback — docker push and pull, skopeo copy up and
// down of an image of 4 incompressible layers totalling 512 MiB, and 16 concurrent docker pushes
// of small images — with Slipway's peak RSS during the big push. Writes bench/RESULTS.md's
// "## registry" section.
//
//   node bench/registry/run.mjs [--runs 3] [--pull-repeats 3] [--keep-images] [--no-write]
//
// The verdict per row is the ratio of the best samples (the least disturbed run of each registry,
// as hyperfine and timeit read timings); the median is printed beside it. The pull rows are bound
// by the client (docker extracting, skopeo hashing and writing), so the registries differ there by
// far less than this machine's run-to-run noise: they are sampled --pull-repeats times per run.
//
// Needs: a built tree (npm run build), a Docker engine, skopeo, docker-registry.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const runs = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 3);
const pullRepeats = Number(args.includes('--pull-repeats') ? args[args.indexOf('--pull-repeats') + 1] : 3);
const keepImages = args.includes('--keep-images');
const writeResults = !args.includes('--no-write');

const LAYERS = 4;
const LAYER_MIB = 128;
const BIG_BYTES = LAYERS * LAYER_MIB * 1024 * 1024;
const BIG_IMAGE = 'slipway-bench/registry-big:latest';
const SMALL_COUNT = 16;
const SMALL_MIB = 1;
const SMALL_BYTES = SMALL_COUNT * SMALL_MIB * 1024 * 1024;
const smallImage = (i) => `slipway-bench/registry-small-${i}:latest`;
const TOKEN = 'slipway-bench-admin-token';
const RSS_LIMIT_MB = 200;

const ROWS = [
  { key: 'dockerPush', label: 'docker push, 4 layers / 512 MiB', bytes: BIG_BYTES },
  { key: 'dockerPull', label: 'docker pull, 4 layers / 512 MiB', bytes: BIG_BYTES, clientBound: true },
  { key: 'skopeoPush', label: 'skopeo copy oci: → registry, 512 MiB', bytes: BIG_BYTES },
  { key: 'skopeoPull', label: 'skopeo copy registry → dir:, 512 MiB', bytes: BIG_BYTES, clientBound: true },
  { key: 'smallPush', label: `${SMALL_COUNT} concurrent docker pushes, ${SMALL_MIB} MiB each`, bytes: SMALL_BYTES },
];

function log(msg) {
  process.stderr.write(`[bench:registry] ${msg}\n`);
}

function sh(cmd, argv, { env = {}, input, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // a command that does not read its input is not a failure
      child.stdin.end(input);
    }
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0 && !allowFail) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}\n${err}${out}`));
      else resolve({ code, out, err });
    });
  });
}

/**
 * Times one row. Dirty pages of the previous row are written out first, so neither registry pays
 * for the other's writeback when it fsyncs.
 */
async function timed(fn) {
  await sh('sync', []);
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function peakRssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU seconds (user + system) the process has used: a figure background load barely moves. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function waitFor(check, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// --- the two registries ---------------------------------------------------------------------

async function startSlipway() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-slipway-'));
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin', 'slipway.js'), 'registry', 'serve', '--port', String(port), '--data', dataDir], {
    env: { ...process.env, SLIPWAY_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await waitFor(async () => out.includes('listening on'), 'slipway registry');
  return { name: 'slipway', host: `127.0.0.1:${port}`, child, dataDir, creds: `bench:${TOKEN}` };
}

async function startDistribution() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-distribution-'));
  const port = await freePort();
  const config = path.join(dataDir, 'config.yml');
  // the packaged defaults (filesystem storage, in-memory blob descriptor cache), no auth, quiet logs
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  filesystem:',
      `    rootdirectory: ${path.join(dataDir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  // its log level cannot go below `error`, which logs every expected 404 (HEAD before push): silenced
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200, 'docker-registry');
  return { name: 'distribution', host: `127.0.0.1:${port}`, child, dataDir, creds: undefined };
}

async function stop(reg) {
  const exited = new Promise((r) => reg.child.once('exit', r));
  reg.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (reg.child.exitCode === null) reg.child.kill('SIGKILL');
  await rm(reg.dataDir, { recursive: true, force: true });
}

// --- fixtures -------------------------------------------------------------------------------

async function imageExists(ref) {
  return (await sh('docker', ['image', 'inspect', ref], { allowFail: true })).code === 0;
}

async function ensureBigImage() {
  if (await imageExists(BIG_IMAGE)) return;
  log(`building ${BIG_IMAGE} (${LAYERS} × ${LAYER_MIB} MiB of /dev/urandom)`);
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'bench-big-'));
  const lines = ['FROM busybox:latest'];
  for (let i = 1; i <= LAYERS; i++) lines.push(`RUN head -c ${LAYER_MIB * 1024 * 1024} /dev/urandom > /layer${i}`);
  await writeFile(path.join(ctx, 'Dockerfile'), `${lines.join('\n')}\n`);
  await sh('docker', ['build', '-q', '-t', BIG_IMAGE, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  await rm(ctx, { recursive: true, force: true });
}

async function ensureSmallImages() {
  for (let i = 0; i < SMALL_COUNT; i++) {
    if (await imageExists(smallImage(i))) continue;
    // one random layer each, imported from a tarball: distinct blobs, no build containers
    await sh('sh', ['-c', `d=$(mktemp -d) && head -c ${SMALL_MIB * 1024 * 1024} /dev/urandom > "$d/data" && tar -C "$d" -c data | docker import - ${smallImage(i)} >/dev/null && rm -rf "$d"`]);
  }
}

// --- the rows: each measures one workload against one registry --------------------------------

function rowRunners(dockerConfig, ociLayout) {
  const docker = (argv, opts) => sh('docker', ['--config', dockerConfig, ...argv], opts);
  const creds = (reg, flag) => (reg.creds ? [flag, reg.creds] : []);
  return {
    async dockerPush(reg) {
      const ref = `${reg.host}/bench/big:1`;
      await docker(['tag', BIG_IMAGE, ref]);
      const seconds = await timed(() => docker(['push', ref]));
      await docker(['rmi', ref]);
      return seconds;
    },
    async dockerPull(reg) {
      // remove the image entirely (every tag), so the pull really downloads and extracts every layer
      const ref = `${reg.host}/bench/big:1`;
      const imageId = (await docker(['image', 'inspect', '--format', '{{.Id}}', BIG_IMAGE])).out.trim();
      await docker(['rmi', '-f', imageId]);
      const seconds = await timed(() => docker(['pull', ref]));
      await docker(['tag', ref, BIG_IMAGE]);
      await docker(['rmi', ref]);
      return seconds;
    },
    async skopeoPush(reg) {
      return timed(() => sh('skopeo', ['copy', '--dest-tls-verify=false', ...creds(reg, '--dest-creds'), `oci:${ociLayout}:big`, `docker://${reg.host}/bench/skopeo:1`]));
    },
    async skopeoPull(reg) {
      const pulled = await mkdtemp(path.join(os.tmpdir(), 'bench-skopeo-pull-'));
      try {
        return await timed(() => sh('skopeo', ['copy', '--src-tls-verify=false', ...creds(reg, '--src-creds'), `docker://${reg.host}/bench/skopeo:1`, `dir:${pulled}`]));
      } finally {
        await rm(pulled, { recursive: true, force: true });
      }
    },
    async smallPush(reg) {
      const refs = Array.from({ length: SMALL_COUNT }, (_, i) => `${reg.host}/bench/small-${i}:1`);
      for (let i = 0; i < SMALL_COUNT; i++) await docker(['tag', smallImage(i), refs[i]]);
      const seconds = await timed(() => Promise.all(refs.map((ref) => docker(['push', ref]))));
      await docker(['rmi', ...refs]);
      return seconds;
    },
  };
}

// --- main -------------------------------------------------------------------------------------

async function main() {
  for (const tool of ['docker', 'skopeo', 'docker-registry']) {
    if ((await sh('sh', ['-c', `command -v ${tool}`], { allowFail: true })).code !== 0) throw new Error(`${tool} is not installed (scripts/setup.sh installs it)`);
  }
  await readFile(path.join(root, 'dist', 'src', 'registry', 'index.js')).catch(() => {
    throw new Error('dist/ is missing: run npm run build first');
  });
  await ensureBigImage();
  await ensureSmallImages();
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-registry-'));
  const dockerConfig = path.join(work, 'docker-config');
  const ociLayout = path.join(work, 'oci');
  log('preparing the OCI layout skopeo pushes from (compressed once, not timed)');
  await sh('skopeo', ['copy', `docker-daemon:${BIG_IMAGE}`, `oci:${ociLayout}:big`]);
  // Reload the image from that layout: a freshly built image carries its build's intermediate
  // images, which made whichever registry went first pay more for its first `rmi` + pull.
  const builtId = (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', BIG_IMAGE])).out.trim();
  await sh('docker', ['rmi', '-f', builtId]);
  await sh('skopeo', ['copy', `oci:${ociLayout}:big`, `docker-daemon:${BIG_IMAGE}`]);

  const samples = { slipway: {}, distribution: {} }; // MB/s of every sample, per registry and row
  const cpuBest = { slipway: {}, distribution: {} };
  let pushRssMB = 0;
  const peakRss = { slipway: 0, distribution: 0 };
  const loadBefore = os.loadavg()[0];
  const rows = rowRunners(dockerConfig, ociLayout);
  try {
    for (let run = 0; run < runs; run++) {
      // both registries fresh for every run; each row runs on one then the other, alternating who
      // goes first, so both see the same page cache and about the same background load
      const regs = [await startSlipway(), await startDistribution()];
      try {
        await sh('docker', ['--config', dockerConfig, 'login', regs[0].host, '-u', 'bench', '--password-stdin'], { input: TOKEN });
        log(`run ${run + 1}/${runs}: slipway at ${regs[0].host}, distribution at ${regs[1].host}`);
        for (const [index, row] of ROWS.entries()) {
          const repeats = row.clientBound ? pullRepeats : 1;
          for (let repeat = 0; repeat < repeats; repeat++) {
            const order = (run + index + repeat) % 2 === 0 ? regs : [...regs].reverse();
            for (const reg of order) {
              const cpuBefore = cpuSeconds(reg.child.pid);
              const seconds = await rows[row.key](reg);
              const cpu = cpuSeconds(reg.child.pid) - cpuBefore;
              const mbps = row.bytes / 1e6 / seconds;
              log(`  ${reg.name.padEnd(12)} ${row.label}: ${seconds.toFixed(2)} s, ${mbps.toFixed(1)} MB/s, registry CPU ${cpu.toFixed(2)} s`);
              cpuBest[reg.name][row.key] = Math.min(cpuBest[reg.name][row.key] ?? Infinity, cpu);
              (samples[reg.name][row.key] ??= []).push(mbps);
              if (reg.name === 'slipway' && row.key === 'dockerPush') pushRssMB = Math.max(pushRssMB, peakRssMB(reg.child.pid));
            }
          }
        }
        for (const reg of regs) peakRss[reg.name] = Math.max(peakRss[reg.name], peakRssMB(reg.child.pid));
      } finally {
        for (const reg of regs) await stop(reg);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    if (!keepImages) {
      await sh('docker', ['rmi', '-f', BIG_IMAGE, ...Array.from({ length: SMALL_COUNT }, (_, i) => smallImage(i))], { allowFail: true });
    }
  }
  const loadAfter = os.loadavg()[0];

  const lines = [
    '| workload | samples per registry | Slipway MB/s best (median) | distribution MB/s best (median) | Slipway / distribution best (median) | registry CPU s, Slipway / distribution |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  let missed = false;
  for (const row of ROWS) {
    const s = samples.slipway[row.key];
    const d = samples.distribution[row.key];
    const ratio = Math.max(...s) / Math.max(...d);
    const medianRatio = median(s) / median(d);
    if (ratio < 1) missed = true;
    const cpu = `${cpuBest.slipway[row.key].toFixed(2)} / ${cpuBest.distribution[row.key].toFixed(2)}`;
    lines.push(
      `| ${row.label} | ${s.length} | ${Math.max(...s).toFixed(1)} (${median(s).toFixed(1)}) | ${Math.max(...d).toFixed(1)} (${median(d).toFixed(1)}) | ` +
        `${ratio.toFixed(2)}${ratio < 1 ? ' (below 1.0)' : ''} (${medianRatio.toFixed(2)}) | ${cpu} |`,
    );
  }
  if (pushRssMB >= RSS_LIMIT_MB) missed = true;
  const table = lines.join('\n');
  const dockerVersion = (await sh('docker', ['version', '--format', '{{.Server.Version}}'])).out.trim();
  const registryVersion = (await sh('docker-registry', ['--version'])).out.trim().split(' ').pop();
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, Docker ${dockerVersion}, distribution ${registryVersion} (Debian docker-registry)`;
  const date = new Date().toISOString().slice(0, 10);
  const section = [
    '## registry',
    '',
    `${date} — ${machine}; loopback.`,
    '',
    `${runs} runs, both registries fresh in each; every sample of a row runs on both registries back to back,`,
    `alternating which goes first; the pull rows ${pullRepeats}× per run. Load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
    'The verdict is the ratio of the best samples (the least disturbed run of each registry); the median',
    'is in brackets.',
    'MB/s = image bytes (uncompressed layer data) / wall time of the client command; docker push and pull',
    'include the engine compressing/decompressing and extracting layers, identical for both registries.',
    'Both registries fsync a blob before it becomes visible; distribution runs without auth, Slipway with',
    'its token auth (docker login / skopeo --creds).',
    '',
    table,
    '',
    `Slipway peak RSS (VmHWM) during the 512 MiB docker push: **${pushRssMB.toFixed(0)} MB** (target < ${RSS_LIMIT_MB} MB);`,
    `over the whole run: Slipway ${peakRss.slipway.toFixed(0)} MB, distribution ${peakRss.distribution.toFixed(0)} MB.`,
    '',
    'Run it: `npm run bench:registry` (after `npm run build`).',
    '',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (writeResults) {
    const file = path.join(root, 'bench', 'RESULTS.md');
    let current = await readFile(file, 'utf8').catch(() => '# Benchmark results\n');
    const start = current.search(/^## registry\s*$/m);
    if (start >= 0) {
      const rest = current.slice(start + 1);
      const next = rest.search(/^## /m);
      current = current.slice(0, start) + section + (next >= 0 ? `\n${rest.slice(next)}` : '');
    } else {
      current = `${current.trimEnd()}\n\n${section}`;
    }
    await writeFile(file, current);
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  if (missed) {
    log('a target was missed (ratio < 1.0 or RSS over the limit)');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(2);
});
