/**
 * GET a user-given URL, following redirects by hand so that every hop passes the public-host
 * rules (./public-host.ts) before anything is sent to it: a public URL that redirects to
 * 127.0.0.1 is refused at that hop.
 */
import { publicUrlProblem } from "./public-host";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A URL (or a redirect to one) that may not be fetched, or a chain of redirects too long to follow. */
export class OutboundRefusal extends Error {
  override name = "OutboundRefusal";
}

export interface PublicFetchOptions {
  allowPrivate: boolean;
  maxRedirects: number;
  headers?: HeadersInit;
  signal?: AbortSignal;
}

/**
 * The first answer that is not a redirect, and the URL that gave it. Throws {@link OutboundRefusal}
 * for a hop that may not be fetched or more than `maxRedirects` redirects; network errors as fetch
 * throws them.
 */
export async function fetchPublic(url: URL, options: PublicFetchOptions): Promise<{ response: Response; url: URL }> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const problem = publicUrlProblem(current, options);
    if (problem) throw new OutboundRefusal(redirects === 0 ? problem : `It redirected to ${current.href}: ${problem}`);
    const response = await fetch(current, {
      headers: options.headers,
      signal: options.signal,
      redirect: "manual",
    });
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === null) return { response, url: current };
    await response.body?.cancel();
    if (redirects >= options.maxRedirects) {
      throw new OutboundRefusal(`It redirected more than ${options.maxRedirects} times`);
    }
    if (!URL.canParse(location, current)) throw new OutboundRefusal(`It redirected to an invalid URL: ${location}`);
    current = new URL(location, current);
    current.hash = "";
  }
}
