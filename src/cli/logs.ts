// `slipway logs RUN [-f]`: a run's log lines from the server (SLIPWAY_URL, SLIPWAY_TOKEN); with
// -f it follows them live over Server-Sent Events, resuming where it was after a dropped connection.
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, type CliIO, type Command } from './io.js';

const HELP = `usage: slipway logs RUN [-f]

Prints the log lines of a run of the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN).
  -f, --follow   keep printing new lines until the run ends; exit 0 if it passed, 1 otherwise
`;

interface Line {
  seq: number;
  job: string;
  stream: string;
  line: string;
}

export function remote(io: CliIO): { url: string; headers: Record<string, string> } {
  const url = io.env.SLIPWAY_URL;
  if (!url) throw new UsageError('SLIPWAY_URL is not set (e.g. http://127.0.0.1:7700)');
  const token = io.env.SLIPWAY_TOKEN;
  if (!token) throw new UsageError('SLIPWAY_TOKEN is not set (the server printed an admin token at its first start)');
  return { url: url.replace(/\/+$/, ''), headers: { Authorization: `Bearer ${token}` } };
}

async function failIfError(res: Response, io: CliIO): Promise<boolean> {
  if (res.ok) return false;
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  io.stderr.write(`slipway logs: ${res.status}: ${body.error?.message ?? res.statusText}\n`);
  return true;
}

export const logs: Command = async (argv: string[], io: CliIO): Promise<number> => {
  const parsed = parseCommandLine(argv, { follow: { type: 'boolean', short: 'f' } }, HELP);
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const [runId] = parsed.positionals;
  if (!runId || parsed.positionals.length > 1) throw new UsageError('give one run id: slipway logs RUN [-f]');
  const server = remote(io);
  const print = (l: Line): void => void io.stdout.write(`[${l.job}] ${l.line}\n`);
  if (!parsed.values.follow) {
    const res = await fetch(`${server.url}/api/runs/${encodeURIComponent(runId)}/logs`, { headers: server.headers });
    if (await failIfError(res, io)) return EXIT_FAILED;
    for (const line of ((await res.json()) as { lines: Line[] }).lines) print(line);
    return EXIT_OK;
  }
  let last = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const res = await fetch(`${server.url}/api/runs/${encodeURIComponent(runId)}/logs`, {
        headers: { ...server.headers, Accept: 'text/event-stream', 'Last-Event-ID': String(last) },
      });
      if (await failIfError(res, io)) return EXIT_FAILED;
      let buffer = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(message)?.[1];
          const data = /^data: (.*)$/m.exec(message)?.[1] ?? '{}';
          if (event === 'log') {
            const line = JSON.parse(data) as Line;
            last = line.seq;
            print(line);
          } else if (event === 'end') {
            const status = (JSON.parse(data) as { status: string }).status;
            io.stderr.write(`run ${runId} ${status}\n`);
            return status === 'success' ? EXIT_OK : EXIT_FAILED;
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch (err) {
      io.stderr.write(`slipway logs: connection lost (${(err as Error).message}); resuming after line ${last}\n`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  return EXIT_FAILED;
};
