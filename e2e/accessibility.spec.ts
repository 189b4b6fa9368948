/** axe-core checks (WCAG 2.1 A/AA rules) of the technician view, in both colour schemes. */
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { serveDemoBundle } from './demo-fixture.ts';

for (const colorScheme of ['light', 'dark'] as const) {
  test(`no axe violations (${colorScheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme });
    await serveDemoBundle(page);
    await page.goto('/');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('button', { name: 'Load demo bundle' }).click();
    await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
    const result = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    expect(
      result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    ).toEqual([]);
  });
}

test('the flow works from the keyboard alone', async ({ page }) => {
  await serveDemoBundle(page);
  await page.goto('/');
  const connect = page.getByRole('button', { name: 'Connect' });
  await connect.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('port-label')).toBeVisible();
  const demo = page.getByRole('button', { name: 'Load demo bundle' });
  await demo.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('bundle-verdict')).toHaveAttribute('data-status', 'verified');
  // Tab from the baud-rate select reaches the Flash button through the options.
  await page.getByLabel('Baud rate').focus();
  for (let i = 0; i < 6; i++) {
    if (
      await page
        .getByRole('button', { name: 'Flash', exact: true })
        .evaluate((el) => el === document.activeElement)
    )
      break;
    await page.keyboard.press('Tab');
  }
  await expect(page.getByRole('button', { name: 'Flash', exact: true })).toBeFocused();
});
