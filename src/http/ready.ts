// A server that must listen before it can answer (the app needs the port it got): requests that
// arrive in between are held and handed to the app once it is there, never left unanswered.
import type { RequestListener, Server } from 'node:http';

/** Holds `server`'s requests from now on; the returned function gives them, and all later ones, to `app`. */
export function holdRequestsUntilReady(server: Server): (app: RequestListener) => void {
  let app: RequestListener | undefined;
  const held: Array<Parameters<RequestListener>> = [];
  server.on('request', (req, res) => {
    if (app) app(req, res);
    else held.push([req, res]);
  });
  return (ready) => {
    app = ready;
    for (const [req, res] of held.splice(0)) ready(req, res);
  };
}
