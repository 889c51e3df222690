// Test fixtures: throwaway git repositories with a pipeline, and the CLI run as a user runs it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { slipwayBin } from './paths.js';

export interface TempRepo {
  dir: string;
  home: string;
  write(file: string, content: string): void;
  commit(message?: string): void;
  remove(): void;
}

export function tempRepo(files: Record<string, string>, options: { commit?: boolean } = {}): TempRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-repo-'));
  const home = mkdtempSync(path.join(os.tmpdir(), 'slipway-home-'));
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  };
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@slipway.local');
  git('config', 'user.name', 'Slipway Test');
  const repo: TempRepo = {
    dir,
    home,
    write(file, content) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content);
    },
    commit(message = 'commit') {
      git('add', '-A');
      git('commit', '-q', '-m', message);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
  for (const [file, content] of Object.entries(files)) repo.write(file, content);
  if (options.commit !== false) repo.commit('initial');
  return repo;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedCli {
  child: ChildProcess;
  /** resolves with the first stdout line matching, or rejects after the deadline */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  done: Promise<CliResult>;
}

export function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string }): SpawnedCli {
  const child = spawn(process.execPath, [slipwayBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...waiters]) {
      const match = stdout.split('\n').find((line) => w.pattern.test(line));
      if (match !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    done,
    waitFor(pattern, timeoutMs = 60_000) {
      const already = stdout.split('\n').find((line) => pattern.test(line));
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before a line matched ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
        });
      });
    },
  };
}

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string }): Promise<CliResult> {
  return spawnCli(args, options).done;
}
