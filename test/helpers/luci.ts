// LuCI in the router lab, driven by a real browser: Debian's Chromium (headless, through npm
// puppeteer-core) running in the lab's LAN namespace, so it reaches the router at 192.168.1.1 as a
// LAN client's browser would. Chromium runs as a child of `lab.sh lan DIR chromium …` (nsenter
// keeps the DevTools pipe, fds 3 and 4, open), never on the host's own network.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { usableLab, type Lab } from './router-lab.ts';

export const LUCI = 'http://192.168.1.1:8080/cgi-bin/luci';
/** Screenshots the test keeps (gitignored), one per page and state it looked at. */
export const ARTIFACTS = resolve('test-artifacts/luci');

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;

function hasPuppeteer(): boolean {
  try {
    createRequire(import.meta.url).resolve('puppeteer-core');
    return true;
  } catch {
    return false;
  }
}

export const browserSkipReason = !CHROMIUM ? 'needs Chromium (Debian: apt-get install chromium)' : !hasPuppeteer() ? 'needs npm puppeteer-core (npm ci)' : null;

export interface LanBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Chromium on the lab's LAN client. */
export async function launchInLan(lab: Lab): Promise<LanBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-chromium-'));
  const wrapper = join(dir, 'chromium-on-lan');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${join(usableLab(), 'lab.sh')}' lan '${lab.dir}' '${CHROMIUM}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const { default: puppeteer } = await import('puppeteer-core');
  try {
    const browser = await puppeteer.launch({
      executablePath: wrapper,
      pipe: true,
      headless: true,
      userDataDir: join(dir, 'profile'),
      defaultViewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--password-store=basic'],
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A new page whose script errors are collected (a view that throws must fail the test). */
export async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
  page.setDefaultTimeout(30_000);
  return page;
}

export async function login(page: Page, user: string, password: string): Promise<void> {
  await page.goto(LUCI, { waitUntil: 'networkidle0' });
  await page.$eval('input[name=luci_username]', (e, u) => ((e as HTMLInputElement).value = u as string), user);
  await page.type('input[name=luci_password]', password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.keyboard.press('Enter')]);
  if (await page.$('input[name=luci_password]')) throw new Error(`LuCI refused the login of ${user}`);
}

/** Opens a page through the top menu, as a user would: the menu's dropdown, then its entry. */
export async function openMenu(page: Page, menu: string, entry: string): Promise<void> {
  const top = await page.waitForSelector(`::-p-xpath(//ul[@id="topmenu"]/li/a[normalize-space()="${menu}"])`);
  await top!.click();
  const item = await page.waitForSelector(`::-p-xpath(//ul[@id="topmenu"]/li[a[normalize-space()="${menu}"]]//ul/li/a[normalize-space()="${entry}"])`, { visible: true });
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), item!.click()]);
}

/** Clicks the page tab (a menu entry's children: Settings, Status) with this title. */
export async function openPageTab(page: Page, title: string): Promise<void> {
  const tab = await page.waitForSelector(`::-p-xpath(//div[@id="tabmenu"]/ul/li/a[normalize-space()="${title}"])`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), tab!.click()]);
}

/** Clicks the tab of a form section (Capture, General, …) with this title. */
export async function openTab(page: Page, title: string): Promise<void> {
  const tab = await page.waitForSelector(`::-p-xpath(//ul[contains(@class,"cbi-tabmenu")]/li/a[normalize-space()="${title}"])`);
  await tab!.click();
}

/** Text of the element(s) matched, trimmed. */
export const textOf = (page: Page, selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText.trim());

/** Save & Apply on a LuCI form, until LuCI confirmed the apply (so rpcd does not roll it back) and reloaded the page. */
export async function saveAndApply(page: Page): Promise<void> {
  const button = await page.waitForSelector('.cbi-page-actions .cbi-button-apply');
  await button!.click();
  await page.waitForFunction(() => document.body.innerText.includes('Configuration changes applied.'), { timeout: 120_000 });
  await page.waitForNavigation({ waitUntil: 'networkidle0', timeout: 30_000 });
}

/**
 * The whole page, from the top; with a dialog or a tooltip shown, what the window shows (LuCI's
 * dialog covers the window, not the page, and a resized window hides a tooltip).
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  const window = (await page.$('body.modal-overlay-active, .cbi-tooltip[style*="opacity: 1"]')) !== null;
  if (!window) await page.evaluate(() => scrollTo(0, 0));
  // once LuCI's fades (notifications, dialogs, tooltips) are over
  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path, fullPage: !window });
  return path;
}
