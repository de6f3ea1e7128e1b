/**
 * The questions of "MaxQ: Compare Methods…", as one multi-step quick input (back button on every step after the
 * first, Escape cancels): patterns, methods, data, epochs, seeds. Everything has a default, so Enter five times
 * runs a small comparison of every method at the default pattern.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { COMPARE_METHODS } from '../../core/compare/compareOptions';
import type { DataSpec } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';
import { COMMON_PATTERNS, TensorSignature } from '../../protocol/messages';
import { looksLikeMnist } from '../sparsify/formValues';
import { COMPARE_INPUT_DEFAULTS, CompareRequest, defaultPatterns, normalizePattern, plannedRunCount, wholeNumberProblem } from './compareRequest';
import { methodName } from './compareView';

const STEPS = 5;
const BACK = Symbol('back');
type Step<T> = T | typeof BACK | undefined;

const METHOD_DETAIL: Record<MaskMethod, string> = {
  magnitude: 'keep the N largest |w| of each block',
  srste: 'sparse-refined straight-through estimator',
  maxq: 'multi-axis soft masks, incremental N:M (CVPR 2024)',
};

interface Item<V> extends vscode.QuickPickItem {
  value: V;
}

function pickMany<V>(opts: { step: number; title: string; placeholder: string; items: Item<V>[]; back: boolean; onValue?: (qp: vscode.QuickPick<Item<V>>, base: Item<V>[]) => void; extra?: (qp: vscode.QuickPick<Item<V>>) => V[] }): Promise<Step<V[]>> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Item<V>>();
    qp.title = opts.title;
    qp.step = opts.step;
    qp.totalSteps = STEPS;
    qp.canSelectMany = true;
    qp.placeholder = opts.placeholder;
    qp.ignoreFocusOut = true;
    qp.items = opts.items;
    qp.selectedItems = opts.items.filter((i) => i.picked);
    if (opts.back) qp.buttons = [vscode.QuickInputButtons.Back];
    let result: Step<V[]>;
    qp.onDidTriggerButton(() => {
      result = BACK;
      qp.hide();
    });
    qp.onDidChangeValue(() => opts.onValue?.(qp, opts.items));
    qp.onDidAccept(() => {
      const values = [...qp.selectedItems.map((i) => i.value), ...(opts.extra?.(qp) ?? [])];
      const unique = [...new Set(values)];
      if (unique.length === 0) {
        qp.title = `${opts.title} — select at least one`;
        return;
      }
      result = unique;
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(result);
    });
    qp.show();
  });
}

function pickOne<V>(opts: { step: number; title: string; placeholder: string; items: Item<V>[]; back: boolean }): Promise<Step<V>> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Item<V>>();
    qp.title = opts.title;
    qp.step = opts.step;
    qp.totalSteps = STEPS;
    qp.placeholder = opts.placeholder;
    qp.ignoreFocusOut = true;
    qp.items = opts.items;
    const active = opts.items.find((i) => i.picked);
    if (active) qp.activeItems = [active];
    if (opts.back) qp.buttons = [vscode.QuickInputButtons.Back];
    let result: Step<V>;
    qp.onDidTriggerButton(() => {
      result = BACK;
      qp.hide();
    });
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      if (!item) return;
      result = item.value;
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(result);
    });
    qp.show();
  });
}

function inputNumber(opts: { step: number; title: string; prompt: (value: string) => string; value: string; min: number }): Promise<Step<number>> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = opts.title;
    box.step = opts.step;
    box.totalSteps = STEPS;
    box.value = opts.value;
    box.prompt = opts.prompt(opts.value);
    box.ignoreFocusOut = true;
    box.buttons = [vscode.QuickInputButtons.Back];
    let result: Step<number>;
    box.onDidTriggerButton(() => {
      result = BACK;
      box.hide();
    });
    box.onDidChangeValue((v) => {
      box.validationMessage = wholeNumberProblem(v, opts.min) ?? undefined;
      box.prompt = opts.prompt(v);
    });
    box.onDidAccept(() => {
      const problem = wholeNumberProblem(box.value, opts.min);
      box.validationMessage = problem ?? undefined;
      if (problem) return;
      result = Number(box.value.trim());
      box.hide();
    });
    box.onDidHide(() => {
      box.dispose();
      resolve(result);
    });
    box.show();
  });
}

async function pickNpy(label: string, near: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: label, filters: { 'NumPy arrays': ['npy'] }, defaultUri: vscode.Uri.file(near) });
  return picked?.[0]?.fsPath;
}

type DataChoice = 'mnist-demo' | 'npy' | 'images';

async function askData(choice: DataChoice, model: string): Promise<DataSpec | undefined> {
  const dir = path.dirname(model);
  if (choice === 'mnist-demo') return { kind: 'mnist-demo' };
  if (choice === 'images') {
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Use this image folder', defaultUri: vscode.Uri.file(dir) });
    return picked?.[0] ? { kind: 'images', dir: picked[0].fsPath } : undefined;
  }
  const inputs = await pickNpy('Use as inputs', dir);
  if (!inputs) return undefined;
  const labels = await pickOne<'pick' | 'none'>({
    step: 3, title: 'Compare methods: labels', placeholder: `Labels for ${path.basename(inputs)}?`, back: false,
    items: [
      { label: 'Labels (.npy)…', detail: 'measure accuracy against the labels', value: 'pick', picked: true },
      { label: 'No labels', detail: 'measure top-1 agreement with the dense model; fine-tunes distil from it', value: 'none' },
    ],
  });
  if (labels === undefined || labels === BACK) return undefined;
  if (labels === 'none') return { kind: 'npy', inputs };
  const file = await pickNpy('Use as labels', path.dirname(inputs));
  return file ? { kind: 'npy', inputs, labels: file } : undefined;
}

/** Asks everything; undefined when the user cancels. */
export async function askCompareRequest(model: string, inputs: TensorSignature[], settingPattern: string): Promise<CompareRequest | undefined> {
  const name = path.basename(model);
  const title = (what: string) => `Compare methods on ${name}: ${what}`;
  const mnist = looksLikeMnist(inputs);
  const req: Partial<CompareRequest> = { patterns: defaultPatterns(settingPattern), methods: [...COMPARE_METHODS], epochs: COMPARE_INPUT_DEFAULTS.epochs, seeds: COMPARE_INPUT_DEFAULTS.seeds };
  let dataChoice: DataChoice = mnist ? 'mnist-demo' : 'npy';
  let step = 1;
  while (step <= STEPS) {
    if (step === 1) {
      const picked = new Set(req.patterns);
      const base: Item<string>[] = [...new Set([...(req.patterns ?? []), ...COMMON_PATTERNS])].map((p) => ({ label: p, value: p, picked: picked.has(p) }));
      const r = await pickMany<string>({
        step, title: title('N:M patterns'), placeholder: 'Tick the patterns to compare (type another N:M, e.g. 3:8, and press Enter to add it)', items: base, back: false,
        onValue: (qp, items) => {
          const typed = normalizePattern(qp.value);
          const selected = qp.selectedItems;
          if (typed && !items.some((i) => i.value === typed)) qp.items = [...items, { label: typed, description: 'press Enter to add', value: typed, alwaysShow: true }];
          else qp.items = items;
          qp.selectedItems = qp.items.filter((i) => selected.some((s) => s.value === i.value));
        },
        extra: (qp) => {
          const typed = normalizePattern(qp.value);
          return typed ? [typed] : [];
        },
      });
      if (r === undefined) return undefined;
      if (r === BACK) continue;
      req.patterns = r;
    } else if (step === 2) {
      const picked = new Set(req.methods);
      const r = await pickMany<MaskMethod>({
        step, title: title('methods'), placeholder: 'Tick the methods (each runs one-shot, one-shot + BN re-estimation, and fine-tuned)', back: true,
        items: COMPARE_METHODS.map((m) => ({ label: methodName(m), description: METHOD_DETAIL[m], value: m, picked: picked.has(m) })),
      });
      if (r === undefined) return undefined;
      if (r === BACK) { step--; continue; }
      req.methods = r;
    } else if (step === 3) {
      const choices: Item<DataChoice>[] = [
        ...(mnist ? [{ label: 'Bundled MNIST demo', detail: 'the demo digits shipped with MaxQ (the model takes 1×28×28 inputs)', value: 'mnist-demo' as const }] : []),
        { label: 'NumPy arrays (.npy)…', detail: 'inputs, with labels for accuracy or without for agreement with the dense model', value: 'npy' },
        { label: 'Image folder…', detail: 'one sub-folder per class', value: 'images' },
      ];
      const items = choices.map((i) => ({ ...i, picked: i.value === dataChoice }));
      const r = await pickOne<DataChoice>({ step, title: title('data'), placeholder: 'Which data do the runs train and measure on?', items, back: true });
      if (r === undefined) return undefined;
      if (r === BACK) { step--; continue; }
      dataChoice = r;
      const data = await askData(r, model);
      if (!data) continue; // a closed file dialog asks the data question again
      req.data = data;
    } else if (step === 4) {
      const r = await inputNumber({
        step, title: title('fine-tune epochs'), value: String(req.epochs), min: 0,
        prompt: () => 'Epochs of each fine-tune (every method gets the same budget; 0 = one-shot rows only). Keep it small: every configuration runs.',
      });
      if (r === undefined) return undefined;
      if (r === BACK) { step--; continue; }
      req.epochs = r;
    } else {
      const r = await inputNumber({
        step, title: title('seeds'), value: String(req.seeds), min: 1,
        prompt: (v) => {
          const seeds = wholeNumberProblem(v, 1) ? null : Number(v.trim());
          const runs = seeds === null ? null : plannedRunCount({ ...(req as CompareRequest), seeds }, model);
          return `Seeds per fine-tune: the chart shows mean ± std over them (1 = no spread).${runs !== null ? ` ${runs} runs in all.` : ''}`;
        },
      });
      if (r === undefined) return undefined;
      if (r === BACK) { step--; continue; }
      req.seeds = r;
    }
    step++;
  }
  return req as CompareRequest;
}
