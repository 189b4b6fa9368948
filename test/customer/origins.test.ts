/**
 * The allowed-origins policy (src/customer/origins.ts) and the download that applies it
 * (src/customer/download.ts). Origins compare as scheme/host/port tuples (RFC 6454 §5, WHATWG
 * URL "origin").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { fetchBundle } from '../../src/customer/download.ts';
import {
  OriginRefusedError,
  originAllowed,
  parseOriginList,
  resolveBundleUrl,
} from '../../src/customer/origins.ts';

const PAGE = 'https://shop.example';
const policy = {
  pageOrigin: PAGE,
  allowedOrigins: ['https://cdn.example.net'],
  base: `${PAGE}/support/update`,
};

describe('parseOriginList', () => {
  it('accepts origins separated by spaces or commas, drops a trailing slash and repeats', () => {
    expect(
      parseOriginList(
        ' https://a.example,https://b.example:8443/  https://a.example\nhttp://localhost:5173',
      ),
    ).toEqual(['https://a.example', 'https://b.example:8443', 'http://localhost:5173']);
    expect(parseOriginList('')).toEqual([]);
    expect(parseOriginList(null)).toEqual([]);
    expect(parseOriginList(undefined)).toEqual([]);
  });

  it.each([
    ['not a url', 'is not an origin'],
    ['https://a.example/firmware', 'is not an origin'],
    ['https://a.example?x=1', 'is not an origin'],
    ['https://a.example#top', 'is not an origin'],
    ['https://user@a.example', 'is not an origin'],
    ['http://a.example', 'must use https'],
    ['ftp://a.example', 'must use https'],
    ['data:text/plain,hi', 'is not an origin'],
    ['javascript:alert(1)', 'is not an origin'],
    ['https://A.EXAMPLE', 'is not an origin'], // write it as the browser serializes it
  ])('refuses %s', (entry, message) => {
    expect(() => parseOriginList(entry)).toThrow(message);
  });
});

describe('resolveBundleUrl', () => {
  it.each([
    ['/firmware/widget.fwb', `${PAGE}/firmware/widget.fwb`],
    ['widget.fwb', `${PAGE}/support/widget.fwb`],
    ['https://shop.example/a.fwb', `${PAGE}/a.fwb`],
    ['https://cdn.example.net/fw/a.fwb', 'https://cdn.example.net/fw/a.fwb'],
  ])('allows %s', (address, expected) => {
    expect(resolveBundleUrl(address, policy).href).toBe(expected);
  });

  it.each([
    ['https://evil.example/a.fwb', 'https://evil.example'],
    ['//evil.example/a.fwb', 'https://evil.example'],
    ['http://shop.example/a.fwb', 'http://shop.example'], // another scheme is another origin
    ['https://shop.example:8443/a.fwb', 'https://shop.example:8443'],
    ['https://cdn.example.net.evil.example/a.fwb', 'https://cdn.example.net.evil.example'],
    ['data:application/octet-stream;base64,AAAA', 'data: addresses'],
    ['blob:https://shop.example/1234', 'blob: addresses'],
    ['javascript:alert(1)', 'javascript: addresses'],
  ])('refuses %s', (address, origin) => {
    let err: unknown;
    try {
      resolveBundleUrl(address, policy);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OriginRefusedError);
    expect((err as OriginRefusedError).code).toBe('bundle.origin-refused');
    expect((err as OriginRefusedError).origin).toBe(origin);
    expect((err as OriginRefusedError).message).toContain('nothing was downloaded');
  });

  it.each([[''], ['   '], [null], [undefined]])('a missing address (%o) is a setup error', (a) => {
    expect(() => resolveBundleUrl(a, policy)).toThrow('No update file is set on this page.');
  });

  it('allows exactly the page origin and the listed ones (property)', () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}\.(example|test)$/);
    const path = fc.stringMatching(/^[a-z0-9/._-]{0,20}$/);
    fc.assert(
      fc.property(host, fc.option(fc.integer({ min: 1, max: 65535 })), path, (h, port, p) => {
        const origin = `https://${h}${port === null || port === 443 ? '' : `:${port}`}`;
        const allowed = originAllowed(origin, policy);
        const address = `${origin}/${p}`;
        if (allowed) expect(resolveBundleUrl(address, policy).origin).toBe(origin);
        else expect(() => resolveBundleUrl(address, policy)).toThrow(OriginRefusedError);
        expect(allowed).toBe(origin === PAGE || origin === 'https://cdn.example.net');
      }),
    );
  });
});

describe('fetchBundle', () => {
  const respond = (body: BodyInit | null, init: ResponseInit & { url?: string } = {}) => {
    const res = new Response(body, init);
    if (init.url) Object.defineProperty(res, 'url', { value: init.url });
    return () => Promise.resolve(res);
  };
  const open = (f: () => Promise<Response>, maxBytes = 1000) =>
    fetchBundle({
      url: new URL(`${PAGE}/a.fwb`),
      policy,
      signal: new AbortController().signal,
      maxBytes,
      fetch: f,
    });
  const collect = async (chunks: AsyncIterable<Uint8Array>) => {
    const out: number[] = [];
    for await (const c of chunks) out.push(...c);
    return out;
  };

  it('streams the body and reports the announced length', async () => {
    const d = await open(
      respond(new Uint8Array([1, 2, 3]), {
        headers: { 'content-length': '3' },
        url: `${PAGE}/a.fwb`,
      }),
    );
    expect(d.bytesTotal).toBe(3);
    expect(await collect(d.chunks)).toEqual([1, 2, 3]);
  });

  it('refuses a redirect to an origin that is not allowed', async () => {
    await expect(
      open(respond(new Uint8Array([1]), { url: 'https://evil.example/a.fwb' })),
    ).rejects.toThrow(OriginRefusedError);
  });

  it('follows a redirect to an allowed origin', async () => {
    const d = await open(respond(new Uint8Array([9]), { url: 'https://cdn.example.net/x.fwb' }));
    expect(await collect(d.chunks)).toEqual([9]);
  });

  it.each([404, 500])('says the server answered %d', async (status) => {
    await expect(open(respond('nope', { status }))).rejects.toMatchObject({
      code: 'transport.io',
      message: `The update file could not be downloaded (the server answered ${status}).`,
    });
  });

  it('refuses an announced size over the cap before reading', async () => {
    const err = await open(respond('x', { headers: { 'content-length': '5000' } })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).reason).toBe('size.exceeded');
  });

  it('turns a network failure into a plain download error', async () => {
    await expect(
      open(() => Promise.reject(new TypeError('Failed to fetch'))),
    ).rejects.toMatchObject({
      code: 'transport.io',
      message: 'The update file could not be downloaded.',
    });
  });
});
