/**
 * The Compare view (issue 5) end to end: a comparison report of the fixture model in the workspace → right-click it
 * → "MaxQ: Open Comparison Report" → the view renders (#status DONE) with one table row per report row and a drawn
 * chart → "Use this one" on the first row opens the sparsify form prefilled with that row's pattern.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CompareReport } from '../../../src/core/compare/compareReport';
import { compareReportFile, writeCompareReport } from '../lib/fixtures';
import { pollUntil } from '../lib/proc';
import { commandTitles, compare, form, statusDone, statusError } from '../lib/selectors';
import { UiSuite } from '../lib/uiSuite';
import {
  explorerContextCommand,
  fieldValue,
  notificationTexts,
  waitForDrawnCanvas,
  waitForExplorerRow,
  waitForWebviewStatus,
} from '../lib/workbench';

export const suite: UiSuite = {
  name: 'compare-view',
  // Written before code-server starts, like the models: a file written later may not reach the Explorer.
  prepareWorkspace: (ws) => {
    writeCompareReport(ws);
  },
  tests: [
    {
      name: 'right-click a .compare.json → Open Comparison Report → table and chart → Use this one → prefilled sparsify form',
      timeoutMs: 120_000,
      run: async (ctx) => {
        const { page } = ctx;
        const report = JSON.parse(fs.readFileSync(path.join(ctx.workspace, compareReportFile), 'utf8')) as CompareReport;
        await waitForExplorerRow(page, compareReportFile, 30_000);
        await explorerContextCommand(page, compareReportFile, commandTitles.openCompareReport);

        // The view says DONE once it has drawn the report (ERROR if it could not read it).
        const { text: status, frame: view } = await waitForWebviewStatus(page, compare.table, {
          status: compare.status,
          done: statusDone,
          error: statusError,
          timeoutMs: 30_000,
        });
        await ctx.shot('compare-view-done');
        if (!statusDone.test(status)) {
          const detail = await view.locator(compare.status).first().getAttribute('title').catch(() => null);
          throw new Error(`the Compare view ended with status "${status}"${detail ? ` (${detail})` : ''}`);
        }

        // One table row per report row, each keyed by its report row.
        const rows = view.locator(compare.row);
        const keys = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key') ?? ''));
        if (keys.length !== report.rows.length) {
          throw new Error(`${compare.row}: ${keys.length} rows, the report has ${report.rows.length}`);
        }
        const missing = report.rows.map((r) => r.key).filter((k) => !keys.includes(k));
        if (missing.length) throw new Error(`the table lacks the report rows ${missing.join(', ')}`);

        const chart = await waitForDrawnCanvas(view, compare.chart, 'the comparison chart');
        ctx.log(`${keys.length} table rows; chart ${JSON.stringify(chart)}`);
        await ctx.shot('compare-table-and-chart');

        // "Use this one" on the first row → the sparsify form of the compared model, with that row's pattern.
        const use = view.locator(compare.useRow).first();
        const key = await use.getAttribute('data-key');
        const row = report.rows.find((r) => r.key === key);
        if (!row) throw new Error(`the first ${compare.useRow} has data-key "${key}", which is no report row`);
        await use.click({ timeout: 5000 });

        const { text: formStatus, frame: formFrame } = await waitForWebviewStatus(page, form.run, {
          status: compare.status,
          done: statusDone,
          error: statusError,
          timeoutMs: 30_000,
        });
        if (!statusDone.test(formStatus)) {
          throw new Error(`the sparsify form ended with status "${formStatus}"; notifications: ${(await notificationTexts(page)).join(' | ')}`);
        }
        let pattern = '';
        try {
          await pollUntil(async () => ((pattern = await fieldValue(formFrame, form.pattern)) === row.pattern ? true : undefined), {
            timeoutMs: 10_000,
            what: `${form.pattern} to show the row's pattern ${row.pattern}`,
          });
        } catch (e) {
          await ctx.shot('sparsify-form-not-prefilled');
          throw new Error(`${e instanceof Error ? e.message : e}; it shows "${pattern}" (row "${row.key}")`);
        }
        ctx.log(`Use this one: row "${row.key}" → sparsify form with pattern ${pattern}`);
        await ctx.shot('sparsify-form-from-compare');
      },
    },
  ],
};
