// The typed client of the API, made from the contract: a call names a route and passes its path
// parameters, query and body, typed by the route's schemas; the answer is typed the same way. How
// a request travels (fetch, errors, retries) is the caller's transport.
import { routes, type BodyOf, type Method, type ParamsOf, type QueryOf, type ResponseOf, type RouteName } from './contract.js';

type Empty = Record<string, never>;

/** What a call of route N passes: `params` when its path has any, `body` when it takes one. */
export type CallInput<N extends RouteName> = (ParamsOf<N> extends Empty ? { params?: Empty } : { params: ParamsOf<N> }) &
  (QueryOf<N> extends Empty ? { query?: Empty } : { query?: { [K in keyof QueryOf<N>]?: QueryOf<N>[K] | undefined } }) &
  (BodyOf<N> extends undefined ? { body?: undefined } : { body: BodyOf<N> });

/** Sends one request and returns the parsed JSON answer (or throws the transport's error). */
export type Transport = (method: Method, path: string, body: unknown) => Promise<unknown>;

/** The path (with its query) a call of route `name` goes to. */
export function pathOf<N extends RouteName>(name: N, input: { params?: object; query?: object }): string {
  const params = (input.params ?? {}) as Record<string, string>;
  const path = routes[name].path.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`${name}: the path parameter ${key} is missing`);
    return encodeURIComponent(value);
  });
  const query = Object.entries((input.query ?? {}) as Record<string, unknown>).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined && entry[1] !== null);
  return query.length === 0 ? path : `${path}?${new URLSearchParams(query.map(([k, v]) => [k, String(v)])).toString()}`;
}

export class ApiClient {
  constructor(private readonly send: Transport) {}

  /** Route `name` with its input; `input` may be left out when the route needs none. */
  async call<N extends RouteName>(name: N, input?: CallInput<N>): Promise<ResponseOf<N>> {
    const given = (input ?? {}) as { params?: object; query?: object; body?: unknown };
    return (await this.send(routes[name].method, pathOf(name, given), given.body)) as ResponseOf<N>;
  }
}
