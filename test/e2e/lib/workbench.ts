/**
 * Helpers that drive the VS Code web workbench. Each one is bounded by a timeout and fails with a message that
 * says what it was waiting for.
 */
import type { Frame, Locator, Page } from 'playwright-core';
import { pollUntil, sleep } from './proc';
import { commandTitles, wb } from './selectors';

export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator(wb.workbench).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

async function quickInputVisible(page: Page): Promise<boolean> {
  return page.locator(wb.quickInput).first().isVisible().catch(() => false);
}

export async function dismissQuickInput(page: Page): Promise<void> {
  for (let i = 0; i < 3 && (await quickInputVisible(page)); i++) {
    await page.keyboard.press('Escape');
    await sleep(150);
  }
}

/**
 * Runs a command from the palette by its title. Just after load, the remote extension host may not have
 * registered contributed commands yet and an open quick pick does not refresh, so: if the row does not show
 * within 2 s, close the palette and reopen it, for up to `timeoutMs`.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  for (;;) {
    attempt++;
    await dismissContextMenu(page);
    await dismissQuickInput(page);
    await page.keyboard.press('F1');
    const box = page.locator(wb.quickInputBox).first();
    await box.waitFor({ state: 'visible', timeout: 5000 });
    await box.fill(`>${title}`);
    const row = page.locator(wb.quickInputRow, { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 2000 });
      await row.click({ timeout: 5000 });
      return;
    } catch {
      if (Date.now() >= deadline) {
        await dismissQuickInput(page);
        throw new Error(`command "${title}" not found in the palette after ${attempt} attempts (${timeoutMs} ms)`);
      }
    }
  }
}

export function explorerRow(page: Page, fileName: string): Locator {
  return page.locator(wb.explorerRow, { hasText: fileName }).first();
}

/** Waits for a file to show in the Explorer (opening the Explorer once if it is hidden). */
export async function waitForExplorerRow(page: Page, fileName: string, timeoutMs = 30_000): Promise<Locator> {
  const row = explorerRow(page, fileName);
  const half = Math.max(1000, Math.floor(timeoutMs / 2));
  try {
    await row.waitFor({ state: 'visible', timeout: half });
  } catch {
    await runCommand(page, commandTitles.showExplorer, 10_000);
    await row.waitFor({ state: 'visible', timeout: half });
  }
  return row;
}

/** Closes an open context menu, if any. */
export async function dismissContextMenu(page: Page): Promise<void> {
  for (let i = 0; i < 3 && (await page.locator(wb.contextMenu).first().isVisible().catch(() => false)); i++) {
    await page.keyboard.press('Escape');
    await sleep(150);
  }
}

/**
 * Right-clicks a file in the Explorer and picks a context-menu item. Retries while the extension's menu
 * contributions load, and checks that the menu actually closed (i.e. the item was triggered).
 */
export async function explorerContextCommand(page: Page, fileName: string, itemTitle: string, timeoutMs = 30_000): Promise<void> {
  const row = await waitForExplorerRow(page, fileName, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    await dismissQuickInput(page);
    await dismissContextMenu(page);
    await row.click({ button: 'right', timeout: 5000 });
    const item = page.getByRole('menuitem', { name: itemTitle }).first();
    try {
      await item.waitFor({ state: 'visible', timeout: 3000 });
      await sleep(250); // a menu ignores a click that comes right after it opened
      await item.click({ timeout: 5000 });
      if (await waitHidden(item, 2000)) return;
      // Still open: the click went nowhere (e.g. the menu re-rendered). Trigger the focused item by keyboard.
      await item.hover({ timeout: 2000 });
      await page.keyboard.press('Enter');
      if (await waitHidden(item, 2000)) return;
      lastError = 'the menu stayed open after clicking the item';
    } catch (e) {
      lastError = e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
    await dismissContextMenu(page);
    if (Date.now() >= deadline) {
      throw new Error(`Explorer context menu of ${fileName}: could not run "${itemTitle}" within ${timeoutMs} ms (${lastError})`);
    }
    await sleep(500);
  }
}

async function waitHidden(locator: Locator, timeoutMs: number): Promise<boolean> {
  return locator.waitFor({ state: 'hidden', timeout: timeoutMs }).then(
    () => true,
    () => false,
  );
}

/** Names of the items in the Explorer context menu of a file (the menu is closed again afterwards). */
export async function explorerContextMenuItems(page: Page, fileName: string): Promise<string[]> {
  const row = await waitForExplorerRow(page, fileName);
  await dismissContextMenu(page);
  await row.click({ button: 'right', timeout: 5000 });
  const items = page.getByRole('menuitem');
  await items.first().waitFor({ state: 'visible', timeout: 5000 });
  const names = (await items.allTextContents()).map((s) => s.trim()).filter(Boolean);
  await dismissContextMenu(page);
  return names;
}

/**
 * The frame of a webview (two iframes deep: `iframe.webview` → `iframe#active-frame`) that contains `selector`.
 * Searching all frames copes with several webviews open at once (form, dashboard, inspector) and with hidden
 * ones that stay in the DOM.
 */
export async function webviewFrameWith(page: Page, selector: string, timeoutMs = 30_000): Promise<Frame> {
  return pollUntil(
    async () => {
      for (const f of page.frames()) {
        if (f === page.mainFrame() || f.isDetached()) continue;
        if ((await f.locator(selector).count().catch(() => 0)) > 0) return f;
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 250, what: `a webview containing ${selector}` },
  );
}

/**
 * Waits until the `#status` of the webview that contains `marker` says DONE or ERROR, and returns the text and
 * that webview's frame. Every view has a `#status`, and panels come and go (the sparsify form closes when the run
 * dashboard opens), so the frame is looked up again on every poll instead of holding one that may detach.
 */
export async function waitForWebviewStatus(
  page: Page,
  marker: string,
  opts: { status: string; done: RegExp; error: RegExp; timeoutMs: number },
): Promise<{ text: string; frame: Frame }> {
  let last = '(no webview with the marker yet)';
  try {
    return await pollUntil(
      async () => {
        for (const f of page.frames()) {
          if (f === page.mainFrame() || f.isDetached()) continue;
          if ((await f.locator(marker).count().catch(() => 0)) === 0) continue;
          const text = ((await f.locator(opts.status).first().textContent({ timeout: 2000 }).catch(() => null)) ?? '').trim();
          last = text;
          if (opts.done.test(text) || opts.error.test(text)) return { text, frame: f };
        }
        return undefined;
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 500, what: `${opts.status} of the webview with ${marker} to read DONE or ERROR` },
    );
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : e}; last status "${last}"`);
  }
}

export async function closeAllEditors(page: Page, timeoutMs = 15_000): Promise<void> {
  await runCommand(page, commandTitles.closeAllEditors, timeoutMs);
  await pollUntil(async () => (await page.locator(wb.webviewIframe).count()) === 0, {
    timeoutMs,
    what: 'all webviews to close',
  });
}

/**
 * Sets a form control's value and fires input/change, which works for native inputs/selects and for the
 * webview toolkit's custom elements (vscode-dropdown, vscode-text-field) alike. Fails if the value did not stick.
 */
export async function setFieldValue(frame: Frame, selector: string, value: string): Promise<void> {
  const el = frame.locator(selector).first();
  await el.waitFor({ state: 'attached', timeout: 10_000 });
  const actual = await el.evaluate((node: any, v: string) => {
    node.value = v;
    node.dispatchEvent(new Event('input', { bubbles: true }));
    node.dispatchEvent(new Event('change', { bubbles: true }));
    return String(node.value);
  }, value);
  if (actual !== value) throw new Error(`${selector}: set "${value}" but the control holds "${actual}"`);
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Pixels with alpha > 0. */
  painted: number;
  /** Distinct colours (RGBA quantised to 4 bits per channel) among painted pixels. */
  colours: number;
}

/** Reads a canvas's pixels in its frame (copying through a 2-D canvas, so WebGL canvases work too). */
export async function canvasStats(frame: Frame, selector: string): Promise<CanvasStats> {
  return frame.locator(selector).first().evaluate((canvas: any) => {
    const w = canvas.width | 0;
    const h = canvas.height | 0;
    if (w === 0 || h === 0) return { width: w, height: h, painted: 0, colours: 0 };
    const copy = (globalThis as any).document.createElement('canvas');
    copy.width = w;
    copy.height = h;
    const ctx = copy.getContext('2d');
    ctx.drawImage(canvas, 0, 0);
    const data: Uint8ClampedArray = ctx.getImageData(0, 0, w, h).data;
    const seen = new Set<number>();
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      painted++;
      seen.add(((data[i] >> 4) << 12) | ((data[i + 1] >> 4) << 8) | ((data[i + 2] >> 4) << 4) | (data[i + 3] >> 4));
    }
    return { width: w, height: h, painted, colours: seen.size };
  });
}

/** Polls a canvas until it is drawn: painted pixels in at least two colours (not blank, not one flat fill). */
export async function waitForDrawnCanvas(frame: Frame, selector: string, what: string, timeoutMs = 20_000): Promise<CanvasStats> {
  let last: CanvasStats | undefined;
  try {
    return await pollUntil(
      async () => {
        last = await canvasStats(frame, selector);
        return last.painted > 0 && last.colours >= 2 ? last : undefined;
      },
      { timeoutMs, intervalMs: 500, what: `${what} (${selector}) to be drawn with more than one colour` },
    );
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : e}; last reading ${JSON.stringify(last)}`);
  }
}

/** The current value of a form control (native input/select or a toolkit element such as vscode-text-field). */
export async function fieldValue(frame: Frame, selector: string): Promise<string> {
  const el = frame.locator(selector).first();
  await el.waitFor({ state: 'attached', timeout: 10_000 });
  return el.evaluate((node: any) => String(node.value ?? ''));
}

/** Texts of the notification toasts currently shown. */
export async function notificationTexts(page: Page): Promise<string[]> {
  const toasts = page.locator(`${wb.notificationToast} ${wb.notificationMessage}`);
  return (await toasts.allTextContents().catch(() => [] as string[])).map((s) => s.trim()).filter(Boolean);
}

/** If a quick input opens within `waitMs` (e.g. a pattern prompt), types `text` and accepts it. */
export async function answerQuickInputIfShown(page: Page, text: string, waitMs = 3000): Promise<boolean> {
  const box = page.locator(wb.quickInputBox).first();
  try {
    await box.waitFor({ state: 'visible', timeout: waitMs });
  } catch {
    return false;
  }
  await box.fill(text);
  const row = page.locator(wb.quickInputRow, { hasText: text }).first();
  if (await row.isVisible().catch(() => false)) await row.click({ timeout: 5000 });
  else await page.keyboard.press('Enter');
  return true;
}

/** The value of a `<dt>` fact in a summary list (`<dl>` at `selector`, e.g. the dashboard's #summary), or undefined. */
export async function summaryFact(frame: Frame, selector: string, name: string): Promise<string | undefined> {
  return frame.locator(selector).first().evaluate((dl: any, key: string) => {
    for (const dt of Array.from(dl.querySelectorAll('dt')) as any[]) {
      if ((dt.textContent ?? '').trim() === key) return ((dt.nextElementSibling?.textContent as string) ?? '').trim();
    }
    return undefined;
  }, name);
}
