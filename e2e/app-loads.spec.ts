import { expect, test } from '@playwright/test';

test('the app loads and names itself', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'webflash' })).toBeVisible();
  expect(errors).toEqual([]);
});
