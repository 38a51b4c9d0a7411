// Drives the frontend in headless Chromium (Debian's): sign in as alice at the identity provider,
// transfer to bob's account, see it completed without a reload. Run by tests/e2e/test_browser.py:
//   WEB_URL=… FROM_ACCOUNT=… TO_ACCOUNT=… SCREENSHOTS=dir node frontend/tests/browser.mjs
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { WEB_URL, FROM_ACCOUNT, TO_ACCOUNT, SCREENSHOTS } = process.env;
mkdirSync(SCREENSHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
page.on('console', (message) => console.log(`console.${message.type()}: ${message.text()}`));
page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
const shot = (name) => page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
let loads = 0;
page.on('load', () => loads++);
const eventReads = [];
page.on('response', (response) => {
  if (response.request().method() === 'GET' && response.url().includes('/api/v1/events/')) {
    eventReads.push(response.status());
  }
});

try {
  await page.goto(WEB_URL);
  await page.click('#sign-in');
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'alice');
  await shot('1-sign-in.png');
  await page.click('button[type=submit]');

  await page.waitForSelector(`#accounts tr[data-account="${FROM_ACCOUNT}"]`);
  await shot('2-accounts.png');
  const loadsBefore = loads;

  await page.selectOption('select[name=from_account]', FROM_ACCOUNT);
  await page.fill('input[name=to_account]', TO_ACCOUNT);
  await page.fill('input[name=amount]', '30.00');
  await page.fill('input[name=memo]', 'dinner');
  await page.click('#transfer button[type=submit]');
  await page.waitForSelector('#status.completed', { timeout: 30_000 });
  await shot('3-completed.png');

  const status = await page.textContent('#status');
  const balance = await page.textContent(`#accounts tr[data-account="${FROM_ACCOUNT}"] .balance`);
  console.log(`status: ${status}; balance: ${balance}; page loads during the transfer: ${loads - loadsBefore}`);
  console.log(`event reads: ${eventReads.join(' ')}`);
  if (status !== 'Transfer of 30.00 USD: completed' || balance !== '70.00' || loads !== loadsBefore) {
    throw new Error('the page does not show the completed transfer and the new balance without a reload');
  }
  if (process.env.EXPECT_EVENT_READS && eventReads.length === 0) {
    throw new Error('the transfer was not watched through its Location');
  }
} catch (error) {
  await shot('failure.png').catch(() => {});
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
