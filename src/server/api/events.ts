// GET /api/events: the server's changes as Server-Sent Events, which the web UI's lists follow to
// read themselves again — instead of every open page polling the store every second.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../../http/index.js';
import type { Change, ChangeFeed } from '../changes.js';
import { ANSWERED, type Handlers } from './routing.js';
import { wantsEvents } from './runs.js';

/** Changes within this window go out as one event per thing changed: a busy run is not a flood. */
const COALESCE_MS = 250;
const KEEP_ALIVE_MS = 15_000;

export function eventRoutes(changes: ChangeFeed): Handlers<'changeEvents'> {
  return {
    changeEvents: async ({ request, reply }) => {
      if (!wantsEvents(request.headers)) throw new HttpError(406, 'EVENTS_ONLY', 'this is a stream of Server-Sent Events: ask with Accept: text/event-stream');
      reply.hijack();
      streamChanges(request.raw, reply.raw, changes);
      return ANSWERED;
    },
  };
}

function keyOf(change: Change): string {
  switch (change.kind) {
    case 'run':
      return `run ${change.id}`;
    case 'environment':
      return `environment ${change.app} ${change.environment}`;
    case 'registry':
      return `registry ${change.repository}`;
  }
}

function streamChanges(req: IncomingMessage, res: ServerResponse, changes: ChangeFeed): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  // tells the browser's EventSource how soon to reconnect after a dropped connection
  res.write('retry: 2000\n\n');
  const pending = new Map<string, Change>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    timer = undefined;
    for (const change of pending.values()) {
      const { kind, ...data } = change;
      res.write(`event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`);
    }
    pending.clear();
  };
  const unsubscribe = changes.subscribe((change) => {
    pending.set(keyOf(change), change);
    timer ??= setTimeout(flush, COALESCE_MS);
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  req.on('close', () => {
    unsubscribe();
    clearInterval(keepAlive);
    if (timer) clearTimeout(timer);
    res.end();
  });
}
