/**
 * The `allowed-origins` policy of the customer updater: a bundle is fetched only from the
 * page's own origin or from an origin the vendor listed, at build time
 * (`VITE_WEBFLASH_ALLOWED_ORIGINS`) or on the element (`allowed-origins="…"`). Origins are
 * compared as serialized tuples (RFC 6454 §6.2, WHATWG URL "origin"): scheme, host and port
 * must all match. The check runs on the address before anything is fetched, and again on the
 * address the response finally came from, so a redirect cannot lead elsewhere.
 */
import { UsageError, WebflashError } from '../core/errors.ts';
import { isLocalHost } from './support.ts';

/** Where bundles may come from. */
export interface OriginPolicy {
  /** The origin of the page that runs the updater (`location.origin`). */
  pageOrigin: string;
  /** Further origins the vendor allowed ("https://updates.example.com"). */
  allowedOrigins: readonly string[];
}

/** The error for a bundle address the policy does not allow. */
export class OriginRefusedError extends WebflashError {
  /** The origin that was refused. */
  readonly origin: string;
  constructor(origin: string) {
    super(
      'bundle.origin-refused',
      `This page may not install updates from ${origin}, so nothing was downloaded.`,
      { hints: ["Open the update from the manufacturer's own support page."] },
    );
    this.origin = origin;
  }
}

/**
 * Parses a list of origins separated by spaces or commas. Each entry must be exactly an origin:
 * `https://host[:port]` (or `http://` for localhost), with no path, query or fragment.
 * @throws {UsageError} naming the first entry that is not an origin.
 * @example parseOriginList('https://a.example https://b.example:8443') // two origins
 */
export function parseOriginList(text: string | undefined | null): string[] {
  if (text === undefined || text === null) return [];
  const out: string[] = [];
  for (const entry of text.split(/[\s,]+/)) {
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch (cause) {
      throw new UsageError(`allowed-origins: "${entry}" is not an origin`, { cause });
    }
    const bare = entry.replace(/\/$/, '');
    if (url.origin === 'null' || url.origin !== bare) {
      throw new UsageError(
        `allowed-origins: "${entry}" is not an origin (write scheme://host[:port] only)`,
      );
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalHost(url.hostname))) {
      throw new UsageError(`allowed-origins: "${entry}" must use https`);
    }
    if (!out.includes(url.origin)) out.push(url.origin);
  }
  return out;
}

/** True when `origin` is the page's own or one the vendor listed. */
export function originAllowed(origin: string, policy: OriginPolicy): boolean {
  return origin === policy.pageOrigin || policy.allowedOrigins.includes(origin);
}

/**
 * Resolves the `bundle` address against the page and checks it against the policy.
 * @throws {UsageError} when the address is missing or not http(s).
 * @throws {OriginRefusedError} when its origin is not allowed.
 * @example resolveBundleUrl('/fw/app.fwb', { base: location.href, pageOrigin: location.origin, allowedOrigins: [] })
 */
export function resolveBundleUrl(
  address: string | undefined | null,
  options: OriginPolicy & { base: string },
): URL {
  if (address === undefined || address === null || address.trim() === '') {
    throw new UsageError('No update file is set on this page.', {
      hints: ['The page needs a bundle="…" attribute (or ?bundle=… on the /update page).'],
    });
  }
  let url: URL;
  try {
    url = new URL(address.trim(), options.base);
  } catch (cause) {
    throw new UsageError(`The update file address "${address}" is not valid.`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OriginRefusedError(`${url.protocol} addresses`);
  }
  checkOrigin(url, options);
  return url;
}

/**
 * Checks an address (for example a response's final URL after redirects) against the policy.
 * @throws {OriginRefusedError} when its origin is not allowed.
 */
export function checkOrigin(url: URL | string, policy: OriginPolicy): void {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (!originAllowed(u.origin, policy)) throw new OriginRefusedError(u.origin);
}
