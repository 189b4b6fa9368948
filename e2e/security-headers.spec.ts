/**
 * The app is served with a strict Content-Security-Policy and a Permissions-Policy for Web
 * Serial and WebUSB (docs/hosting.md), by the dev server and by `vite preview`, and it runs
 * under that policy without a single violation.
 */
import { expect, test, type Page } from '@playwright/test';
import { serveDemoBundle } from './demo-fixture.ts';
import { startPreview, type PreviewServer } from './preview-server.ts';

declare global {
  interface Window {
    __cspViolations?: string[];
    __inlineRan?: boolean;
  }
}

/** Records every CSP violation of the page, from its first script on. */
async function watchViolations(page: Page): Promise<string[]> {
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Permissions policy/i.test(m.text())) console.push(m.text());
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations!.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return console;
}

async function violations(page: Page, console: string[]): Promise<string[]> {
  return [...(await page.evaluate(() => window.__cspViolations ?? [])), ...console];
}

function directives(csp: string): Map<string, string> {
  return new Map(
    csp.split(';').map((d) => {
      const [name = '', ...values] = d.trim().split(/\s+/);
      return [name, values.join(' ')];
    }),
  );
}

/** The assertions every served page must pass. */
function expectStrictPolicy(csp: string | undefined, permissions: string | undefined): void {
  expect(csp).toBeDefined();
  const d = directives(csp!);
  expect(d.get('default-src')).toBe("'none'");
  expect(d.get('script-src')).toMatch(/^'self'( 'nonce-[A-Za-z0-9+/=]+')?$/);
  expect(d.get('style-src')).toMatch(/^'self'( 'nonce-[A-Za-z0-9+/=]+')?$/);
  expect(d.get('worker-src')).toBe("'self'");
  expect(d.get('object-src')).toBe("'none'");
  expect(d.get('connect-src')).toMatch(/^'self'/);
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(permissions).toContain('serial=(self)');
  expect(permissions).toContain('usb=(self)');
}

/** Loads the app, verifies a bundle in the worker, and checks nothing was blocked. */
async function exerciseApp(page: Page, url: string): Promise<void> {
  const seen = await watchViolations(page);
  const response = await page.goto(url);
  const headers = response!.headers();
  expectStrictPolicy(headers['content-security-policy'], headers['permissions-policy']);
  await expect(page.getByRole('heading', { name: 'webflash' })).toBeVisible();
  await page.getByRole('button', { name: 'Load demo bundle' }).click();
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute(
    'data-status',
    /verified|rejected/,
  );
  expect(await violations(page, seen)).toEqual([]);

  // The policy is enforced, not just sent: an injected inline script does not run.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.append(s);
    return window.__inlineRan === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => page.evaluate(() => window.__cspViolations!.length)).toBe(1);
}

test.describe('dev server (npm start)', () => {
  test('sends the policy with a fresh nonce per page, and the app runs under it', async ({
    page,
    request,
  }) => {
    await serveDemoBundle(page);
    await exerciseApp(page, '/');

    const [a, b] = await Promise.all([request.get('/'), request.get('/')]);
    const nonceOf = (csp: string | undefined): string | undefined =>
      /'nonce-([^']+)'/.exec(csp ?? '')?.[1];
    const nonceA = nonceOf(a.headers()['content-security-policy']);
    expect(nonceA).toBeDefined();
    expect(nonceA).not.toBe(nonceOf(b.headers()['content-security-policy']));
    const html = await a.text();
    expect(html).not.toContain('WEBFLASH_CSP_NONCE');
    for (const m of html.matchAll(/<script[^>]*>/g)) expect(m[0]).toContain(`nonce="${nonceA}"`);
  });
});

test.describe('vite preview (production build)', () => {
  let server: PreviewServer;
  test.beforeAll(async () => {
    server = await startPreview({ WEBFLASH_BUNDLE_ORIGINS: 'https://fw.example.com' });
  });
  test.afterAll(async () => server.stop());

  test('sends the strict policy without nonces, and the app runs under it', async ({ page }) => {
    await exerciseApp(page, server.url + '/');
  });

  test('every file carries the headers, and bundle origins are allowed to connect', async ({
    request,
  }) => {
    for (const path of ['/', '/sw.js', '/manifest.webmanifest']) {
      const r = await request.get(server.url + path);
      expect(r.status(), path).toBe(200);
      const csp = r.headers()['content-security-policy'];
      expectStrictPolicy(csp, r.headers()['permissions-policy']);
      expect(csp).not.toContain('nonce-');
      expect(directives(csp!).get('connect-src')).toBe("'self' https://fw.example.com");
    }
  });
});
