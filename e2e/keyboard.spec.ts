/**
 * Whole flows from the keyboard alone (WCAG 2.1 SC 2.1.1 Keyboard, SC 2.4.7 Focus Visible):
 * the customer updater on the plain and the vendor host page, and the bench view in demo mode.
 * Every control is reached with Tab from where the focus was and operated with Enter or Space;
 * each one shows a visible focus indicator when it gets there. The technician view's keyboard
 * flow is in accessibility.spec.ts. Waits on the DOM's state, never on sleeps.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import type {} from '../src/customer/demo-hook.ts';
import type {} from '../src/demo/bench-lab.ts';
import { goodBundle } from '../test/customer/e2e-bundles.ts';
import { serveDemoBundle } from './demo-fixture.ts';

/**
 * Presses Tab until `target` has the focus (at most `max` times) and checks that it shows a
 * focus indicator: `:focus-visible` matches and an outline or a box shadow is drawn.
 */
async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el.matches(':focus'))) {
      const ring = await target.evaluate((el) => {
        const cs = getComputedStyle(el);
        return {
          visible: el.matches(':focus-visible'),
          outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0,
          shadow: cs.boxShadow !== 'none',
        };
      });
      expect(ring.visible, 'the control matches :focus-visible').toBe(true);
      expect(ring.outline || ring.shadow, 'the focused control draws a focus indicator').toBe(true);
      return;
    }
  }
  throw new Error(`Tab did not reach ${String(target)} within ${max} presses`);
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

const customerPages = [
  {
    page: '/test/customer/host.html',
    button: 'Update firmware',
    key: 'Enter',
    inside: true,
  },
  {
    page: '/test/customer/vendor.html',
    button: 'Install Lamp update',
    key: 'Space',
    inside: false,
  },
] as const;

for (const c of customerPages) {
  test(`customer updater (${c.page}): Tab to the button, ${c.key}, the update succeeds`, async ({
    page,
  }) => {
    const errors = watchErrors(page);
    await page.route('**/demo/demo.fwb', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/octet-stream',
        body: Buffer.from(goodBundle),
      }),
    );
    await page.goto(c.page);
    const el = page.locator('webflash-update');
    await expect(el).toHaveAttribute('data-state', 'ready');
    // The built-in button lives in the element's shadow tree; the vendor's is slotted.
    const button = (c.inside ? el : page).getByRole('button', { name: c.button });
    await tabTo(page, button);
    await page.keyboard.press(c.key);
    await expect(el).toHaveAttribute('data-state', 'success', { timeout: 45_000 });
    // The result is announced and takes the focus, so a keyboard user carries on from there.
    await expect(el.locator('[part="title"]')).toBeFocused();
    expect(await page.evaluate(() => window.__webflashCustomerLab!.current())).toBe('esp32s3');
    expect(
      await page.evaluate(() => window.__webflashCustomerLab!.programmedBytes()),
    ).toBeGreaterThan(100_000);
    expect(errors).toEqual([]);
  });
}

test('bench: load the release, start hands-off mode and download the report by keyboard', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  await serveDemoBundle(page);
  // No hot reload under the test: the bench's state lives in the page.
  await page.routeWebSocket(/.*/, (ws) => ws.send(JSON.stringify({ type: 'connected' })));
  await page.goto('/?mode=bench');
  await expect(page.getByRole('heading', { name: 'webflash bench' })).toBeVisible();

  await tabTo(page, page.getByRole('button', { name: 'Load demo bundle' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('bench-bundle')).toHaveAttribute('data-status', 'verified');

  const start = page.getByRole('button', { name: 'Start hands-off mode' });
  await expect(start).toBeEnabled();
  await tabTo(page, start);
  await page.keyboard.press('Space');
  await expect(page.getByTestId('hands-off')).toHaveAttribute('data-on', 'true');
  await expect(page.getByRole('button', { name: 'Stop hands-off mode' })).toBeFocused();

  // Plugging a board in is not a UI action: the test hook stands in for the hand at the USB port.
  await page.evaluate(() => window.__webflashBench!.add({ type: 'esp32s3' }));
  await expect(page.locator('[data-testid="tile"][data-state="done"]')).toHaveCount(1, {
    timeout: 60_000,
  });
  await expect(page.getByTestId('tally')).toHaveAttribute('data-ok', '1');

  const csv = page.getByRole('button', { name: 'Download report (CSV)' });
  await expect(csv).toBeEnabled();
  await tabTo(page, csv);
  const downloaded = page.waitForEvent('download');
  await page.keyboard.press('Enter');
  const file = await downloaded;
  expect(file.suggestedFilename()).toMatch(/\.csv$/);
  const path = await file.path();
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  expect(lines.length).toBe(2); // header and the one board
  expect(errors).toEqual([]);
});
