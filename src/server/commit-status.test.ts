import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { commitStatusApiUrlProblem, commitStatusRequest, reportCommitStatus } from './commit-status.js';

const commit = 'a'.repeat(40);

test('each forge gets the request its API documents', () => {
  const github = commitStatusRequest({ provider: 'github', token: 'g', repository: 'acme/web' }, { commit, state: 'pending', description: 'running' });
  assert.equal(github.url, `https://api.github.com/repos/acme/web/statuses/${commit}`);
  assert.equal((github.init.headers as Record<string, string>).Authorization, 'Bearer g');
  assert.deepEqual(JSON.parse(String(github.init.body)), { state: 'pending', description: 'running', context: 'slipway' });

  const gitea = commitStatusRequest({ provider: 'gitea', apiUrl: 'https://git.example.com/', token: 't', repository: 'acme/web' }, { commit, state: 'failure', description: 'x', targetUrl: 'http://s/api/runs/1' });
  assert.equal(gitea.url, `https://git.example.com/api/v1/repos/acme/web/statuses/${commit}`);
  assert.equal((gitea.init.headers as Record<string, string>).Authorization, 'token t');
  assert.equal(JSON.parse(String(gitea.init.body)).target_url, 'http://s/api/runs/1');

  const gitlab = commitStatusRequest({ provider: 'gitlab', apiUrl: 'https://gitlab.example.com', token: 'p', repository: 'group/sub/web' }, { commit, state: 'pending', description: 'running' });
  assert.match(gitlab.url, new RegExp(`^https://gitlab\\.example\\.com/api/v4/projects/group%2Fsub%2Fweb/statuses/${commit}\\?state=running&name=slipway`));
  assert.equal((gitlab.init.headers as Record<string, string>)['PRIVATE-TOKEN'], 'p');
  const failed = commitStatusRequest({ provider: 'gitlab', apiUrl: 'https://gitlab.example.com', token: 'p', repository: 'g/w' }, { commit, state: 'failure', description: 'd' });
  assert.match(failed.url, /state=failed/);
});

test('Gitea and GitLab need their API URL', () => {
  assert.throws(() => commitStatusRequest({ provider: 'gitea', token: 't', repository: 'a/b' }, { commit, state: 'success', description: '' }), /needs the API URL/);
});

// An apiUrl is chosen by whoever may configure a project: the server must not become a way to
// read the cloud metadata service (and the instance's credentials) or hand the token elsewhere.

test('an apiUrl at a link-local, unspecified or metadata host is refused, however it is spelled', () => {
  const refused = [
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://169.254.170.2/v2/credentials',
    'http://[fe80::1]/',
    'http://[fe80::a9fe:a9fe%25eth0]/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.Google.Internal./computeMetadata/v1/',
    'http://metadata/computeMetadata/v1/',
    'http://0.0.0.0:3000/',
    'http://0/',
    'http://[::]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[0:0:0:0:0:ffff:169.254.169.254]/',
    'http://[::169.254.169.254]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://168.63.129.16/machine',
  ];
  for (const url of refused) {
    const problem = commitStatusApiUrlProblem(url);
    assert.ok(problem, `${url} is refused`);
    if (!url.includes('%25')) assert.match(problem, /link-local|unspecified|metadata/, url);
  }
});

test('an apiUrl that is not plain http(s) or carries credentials is refused', () => {
  for (const url of ['file:///etc/passwd', 'ftp://git.example.com/', 'gopher://127.0.0.1:6379/_FLUSHALL', 'javascript:alert(1)', 'not a url', '', '//git.example.com/']) {
    assert.ok(commitStatusApiUrlProblem(url), `${url} is refused`);
  }
  assert.match(commitStatusApiUrlProblem('https://user:secret@git.example.com/') ?? '', /user name or password/);
  assert.match(commitStatusApiUrlProblem('https://user@git.example.com/') ?? '', /user name or password/);
  assert.doesNotMatch(commitStatusApiUrlProblem('https://user:secret@git.example.com/') ?? '', /secret/, 'the password is not echoed');
});

test('forges on loopback, private networks and public names stay allowed', () => {
  for (const url of [
    'https://api.github.com',
    'https://git.example.com/',
    'https://gitlab.example.com/gitlab',
    'http://127.0.0.1:3000',
    'http://localhost:3000/',
    'http://[::1]:3000/',
    'http://10.0.0.5/',
    'http://172.16.0.1:8080',
    'http://192.168.1.10:3000/',
    'http://100.64.0.7/',
    'http://[fd12:3456::1]/',
    'http://gitea:3000/',
  ]) {
    assert.equal(commitStatusApiUrlProblem(url), undefined, url);
  }
});

/** A forge double on loopback that records what reaches it. */
async function forge(t: TestContext, answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(201).end('{}')) {
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => void (body += d.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, requests };
}

const lookupAs =
  (addresses: string[]) =>
  async (_hostname: string): Promise<Array<{ address: string; family: number }>> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

test('a stored apiUrl at the metadata address is refused at report time, before any connection', async () => {
  await assert.rejects(
    reportCommitStatus({ provider: 'gitea', apiUrl: 'http://169.254.169.254', token: 't', repository: 'a/b' }, { commit, state: 'success', description: 'ok' }),
    /169\.254\.169\.254.*link-local/,
  );
  await assert.rejects(
    reportCommitStatus({ provider: 'gitea', apiUrl: 'http://2852039166', token: 't', repository: 'a/b' }, { commit, state: 'success', description: 'ok' }),
    /link-local/,
  );
});

test('a forge name that resolves to any link-local address is refused (DNS rebinding), and nothing is sent', async (t) => {
  const { port, requests } = await forge(t);
  for (const addresses of [['169.254.169.254'], ['127.0.0.1', '169.254.169.254'], ['::1', 'fe80::1'], ['0.0.0.0'], ['::ffff:169.254.169.254']]) {
    await assert.rejects(
      reportCommitStatus(
        { provider: 'gitea', apiUrl: `http://forge.test:${port}`, token: 't', repository: 'a/b' },
        { commit, state: 'success', description: 'ok' },
        { lookup: lookupAs(addresses) },
      ),
      /forge\.test resolves to .*(link-local|unspecified)/,
      addresses.join(', '),
    );
  }
  assert.equal(requests.length, 0);
});

test('the status goes to the address that was checked, with the forge token and a User-Agent', async (t) => {
  const { port, requests } = await forge(t);
  // forge.test exists only in this lookup: the request reaches the forge only through the checked answer
  await reportCommitStatus(
    { provider: 'gitea', apiUrl: `http://forge.test:${port}/`, token: 'forge-token', repository: 'acme/web' },
    { commit, state: 'pending', description: 'running' },
    { lookup: lookupAs(['127.0.0.1']) },
  );
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.method, 'POST');
  assert.equal(requests[0]!.url, `/api/v1/repos/acme/web/statuses/${commit}`);
  assert.equal(requests[0]!.headers.authorization, 'token forge-token');
  assert.equal(requests[0]!.headers.host, `forge.test:${port}`);
  assert.match(requests[0]!.headers['user-agent'] ?? '', /^slipway/);
  assert.deepEqual(JSON.parse(requests[0]!.body), { state: 'pending', description: 'running', context: 'slipway' });
});

test('a redirect from the forge is not followed, so the token and status go nowhere else', async (t) => {
  const elsewhere = await forge(t);
  const { port } = await forge(t, (_req, res) => void res.writeHead(307, { Location: `http://127.0.0.1:${elsewhere.port}/steal` }).end());
  await assert.rejects(
    reportCommitStatus({ provider: 'gitea', apiUrl: `http://127.0.0.1:${port}`, token: 'forge-token', repository: 'a/b' }, { commit, state: 'success', description: 'ok' }),
    /307.*redirect.*not followed/,
  );
  assert.equal(elsewhere.requests.length, 0);
});

test('a forge answering an error is reported with its status and the start of its answer', async (t) => {
  const { port } = await forge(t, (_req, res) => void res.writeHead(401).end('{"message":"bad credentials"}'));
  await assert.rejects(
    reportCommitStatus({ provider: 'gitea', apiUrl: `http://127.0.0.1:${port}`, token: 't', repository: 'a/b' }, { commit, state: 'success', description: 'ok' }),
    /gitea answered 401 to the commit status for aaaaaaa: \{"message":"bad credentials"\}/,
  );
});
