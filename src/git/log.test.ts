import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commitsBetween, hasCommit, isCommitId } from './log.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-git-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bare repository of `count` commits on main, made in one fast-import; their ids, oldest first. */
function history(count: number): string[] {
  execFileSync('git', ['init', '-q', '--bare', dir]);
  let stream = '';
  for (let i = 1; i <= count; i++) {
    const message = `change ${i}`;
    stream += `commit refs/heads/main\nmark :${i}\nauthor Ada <ada@example.com> ${1_700_000_000 + i} +0000\ncommitter Ada <ada@example.com> ${1_700_000_000 + i} +0000\ndata ${message.length}\n${message}\n`;
    if (i > 1) stream += `from :${i - 1}\n`;
    stream += `M 644 inline f.txt\ndata ${String(i).length}\n${i}\n\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream });
  return execFileSync('git', ['rev-list', '--reverse', 'main'], { cwd: dir, encoding: 'utf8' }).trim().split('\n');
}

const shas = history(205);

test('commitsBetween lists base..tip newest first with subject, author and time, and says when it cut the list', async () => {
  const some = await commitsBetween(dir, shas[0]!, shas[3]!, 200);
  assert.deepEqual(some, {
    commits: [
      { sha: shas[3], subject: 'change 4', author: 'Ada', timeMs: 1_700_000_004_000 },
      { sha: shas[2], subject: 'change 3', author: 'Ada', timeMs: 1_700_000_003_000 },
      { sha: shas[1], subject: 'change 2', author: 'Ada', timeMs: 1_700_000_002_000 },
    ],
    truncated: false,
  });
  assert.deepEqual(await commitsBetween(dir, shas[3]!, shas[0]!, 200), { commits: [], truncated: false }, 'going back adds nothing');
  const all = await commitsBetween(dir, shas[0]!, shas[204]!, 200);
  assert.equal(all.commits.length, 200);
  assert.equal(all.truncated, true);
  assert.equal(all.commits[0]?.sha, shas[204]);
});

test('hasCommit knows the repository’s commits only, and both refuse anything but a full commit id before git sees it', async () => {
  assert.equal(await hasCommit(dir, shas[10]!), true);
  assert.equal(await hasCommit(dir, 'f'.repeat(40)), false);
  for (const hostile of ['--output=/tmp/slipway-hostile', 'main', shas[0]!.slice(0, 12), `${shas[0]!}..main`, `${shas[0]!} `, 'HEAD']) {
    assert.equal(isCommitId(hostile), false, hostile);
    await assert.rejects(hasCommit(dir, hostile), /not a full commit id/);
    await assert.rejects(commitsBetween(dir, hostile, shas[1]!, 10), /not a full commit id/);
    await assert.rejects(commitsBetween(dir, shas[1]!, hostile, 10), /not a full commit id/);
  }
  assert.equal(existsSync('/tmp/slipway-hostile'), false);
});
