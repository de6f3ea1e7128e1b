/**
 * Builds the sparsify form from the current values and reports every edit. Field ids are stable: tests and
 * the E2E suite address them directly (see the report in README of the extension).
 */
import { batchNormNote } from '../../src/protocol/batchNormNote';
import type { BatchNormInfo, DataKind, MaskMethod, OptimizerChoice, PathField, PreprocessChoice, ScheduleKind, SparsifyFormValues, TensorSignature, ValidationKind } from '../../src/protocol/messages';
import { SCHEDULE_KINDS } from '../../src/protocol/messages';
import {
  customFieldsOf, customPreprocessProblems, DEFAULT_VAL_PERCENT, describeInputs, describeNormalize, formatPercent, inputChannels, looksLikeMnist,
  MAX_VAL_PERCENT, MNIST_DEMO_NORMALIZE, normalizeOf, PREPROCESS_CHOICES, scheduleOffNote, valPercentOk,
} from '../../src/protocol/preprocessing';
import { button } from '../components/button';
import { checkbox } from '../components/checkbox';
import { h } from '../components/dom';
import { dropdown } from '../components/dropdown';
import { radioGroup } from '../components/radioGroup';
import { message, section } from '../components/section';
import { textField, TextFieldControl } from '../components/textField';
import { PolicyTable } from './policyTable';

export interface FormCallbacks {
  /** A value changed (already applied to the values object). */
  changed(field: keyof SparsifyFormValues): void;
  pick(field: PathField): void;
  run(): void;
  /** Write the settings as a PyTorch recipe for torchrun (maxq_torch). */
  exportRecipe(): void;
  close(): void;
}

export interface FormView {
  root: HTMLElement;
  policy: PolicyTable;
  setPathField(field: PathField, value: string): void;
  setOutput(path: string): void;
  setDecay(start: number, end: number): void;
  /** Re-say whether the decay window leaves a gradual schedule (after epochs or the window changed). */
  refreshSchedule(): void;
  setLayersMessage(text: string | null, kind?: 'error' | 'info'): void;
  setLayersSummary(text: string): void;
  /** The model's BatchNorm summary for the pattern (null: layers not known); the note follows the form's values. */
  setBatchNorm(info: BatchNormInfo | null): void;
  /** Recount the BatchNorm note for the current selection, data and options. */
  refreshBatchNorm(): void;
  setPatternProblem(text: string | null): void;
  setFormError(text: string | null): void;
  /** After a recipe was written: where, and the torchrun command to copy (null clears it). */
  setRecipe(info: { path: string; command: string; multiNode: string } | null): void;
  setRunning(running: boolean): void;
}

const METHODS: { value: MaskMethod; label: string; description: string }[] = [
  { value: 'maxq', label: 'MaxQ', description: 'multi-axis soft masks, incremental N:M (CVPR 2024)' },
  { value: 'srste', label: 'SR-STE', description: 'sparse-refined straight-through estimator' },
  { value: 'magnitude', label: 'Magnitude', description: 'keep the N largest |w| of each block' },
];

// The user's own data first: the bundled demo only when chosen (an MNIST-shaped model gets a hint, not the default).
const DATA_KINDS: { value: DataKind; label: string; description: string }[] = [
  { value: 'npy', label: 'NumPy arrays', description: '.npy inputs, labels optional (without labels: distil from the dense model)' },
  { value: 'images', label: 'Image folder', description: 'one sub-folder per class' },
  { value: 'distil', label: 'Distil from the dense model', description: 'unlabelled .npy inputs: the sparse model learns the dense model’s outputs' },
  { value: 'mnist-demo', label: 'Bundled MNIST demo', description: 'the demo data shipped with MaxQ (28×28 grey images), not your data' },
];

const VALIDATION_KINDS: { value: ValidationKind; label: string; description: string }[] = [
  { value: 'holdout', label: 'Hold out a share of the training data', description: 'a fixed, seeded share, not trained on' },
  { value: 'separate', label: 'Separate validation data', description: 'your own held-out .npy files or image folder' },
];

function ownData(k: DataKind): boolean {
  return k === 'npy' || k === 'images' || k === 'distil';
}

function intOf(text: string): number {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : NaN;
}

export function buildForm(modelName: string, inputs: TensorSignature[], opset: number, v: SparsifyFormValues, cb: FormCallbacks): FormView {
  const numberField = (id: string, label: string, key: 'epochs' | 'batchSize' | 'decayStart' | 'decayEnd', size = 6): TextFieldControl => {
    const f = textField({
      id, label, value: String(v[key]), size, inputMode: 'numeric',
      onInput: (t) => {
        v[key] = intOf(t);
        f.setProblem(Number.isNaN(v[key]) ? 'Enter a whole number.' : null);
        cb.changed(key);
      },
    });
    return f;
  };

  const pattern = textField({
    id: 'pattern', label: 'N:M pattern', value: v.pattern, size: 8, placeholder: '2:4',
    onInput: (t) => {
      v.pattern = t.trim();
      cb.changed('pattern');
    },
  });
  const method = radioGroup({ id: 'method', label: 'Method', options: METHODS, value: v.method, onChange: (m) => { v.method = m; cb.changed('method'); } });

  const policy = new PolicyTable({ include: v.include, exclude: v.exclude }, (o) => {
    v.include = o.include;
    v.exclude = o.exclude;
    cb.changed('include');
  });
  const layersMessage = h('div', { id: 'layers-message' });
  const layersSummary = h('p', { id: 'layers-summary', class: 'hint', 'aria-live': 'polite' });
  const resetLayers = button({
    id: 'layers-reset', label: 'Reset to policy', appearance: 'secondary',
    onClick: () => {
      v.include = [];
      v.exclude = [];
      policy.setOverrides({ include: [], exclude: [] });
      cb.changed('include');
    },
  });

  // Data
  const pathRow = (field: PathField, id: string, label: string, placeholder: string) => {
    const f = textField({ id, label, value: v[field], placeholder, onInput: (t) => { v[field] = t; cb.changed(field); } });
    f.element.classList.add('grow');
    const browse = button({ id: `browse-${id}`, label: 'Browse…', appearance: 'secondary', onClick: () => cb.pick(field) });
    return { control: f, row: h('div', { class: 'field-row path-row' }, f.element, browse) };
  };
  const npyInputs = pathRow('npyInputs', 'npy-inputs', 'Inputs (.npy)', '/path/to/inputs.npy');
  const npyLabels = pathRow('npyLabels', 'npy-labels', 'Labels (.npy, optional)', 'empty: distil from the dense model');
  const imagesDir = pathRow('imagesDir', 'images-dir', 'Image folder', '/path/to/images');
  // Distillation reads the same inputs field as the NumPy option, without labels.
  const distilInputs = pathRow('npyInputs', 'distil-inputs', 'Unlabelled inputs (.npy)', '/path/to/inputs.npy');
  const npyHint = h('p', { class: 'hint', id: 'data-npy-hint' },
    looksLikeMnist(inputs)
      ? 'Choose your training inputs. This model takes MNIST-shaped inputs: to try it on the digits bundled with MaxQ instead, pick “Bundled MNIST demo” above.'
      : 'Choose your training inputs (.npy, one sample per row of the first axis).');
  const dataDetails = {
    'mnist-demo': h('p', { class: 'hint', id: 'data-mnist-note' }, 'Uses the MNIST images bundled with MaxQ, not your data; the model must take 1×28×28 inputs.'),
    npy: h('div', { id: 'data-npy-fields' }, npyInputs.row, npyLabels.row, npyHint),
    images: h('div', { id: 'data-images-fields' }, imagesDir.row),
    distil: h('div', { id: 'data-distil-fields' }, distilInputs.row,
      h('p', { class: 'hint', id: 'data-distil-note' }, 'The dense model is the teacher: the sparse model learns to reproduce its outputs on these inputs. No labels needed.')),
  } satisfies Record<DataKind, HTMLElement>;

  // Preprocessing of the user's data (the MNIST demo's is fixed).
  const channels = inputChannels(inputs);
  const customField = (id: string, label: string, key: 'customScale' | 'customMean' | 'customStd', placeholder: string, size: number) =>
    textField({ id, label, value: v[key], placeholder, size, onInput: (t) => { v[key] = t; checkCustom(); cb.changed(key); } });
  const customScale = customField('preprocess-scale', 'Scale', 'customScale', '1/255', 8);
  const customMean = customField('preprocess-mean', 'Mean (a or a:b:c)', 'customMean', '0.485:0.456:0.406', 20);
  const customStd = customField('preprocess-std', 'Std (a or a:b:c)', 'customStd', '0.229:0.224:0.225', 20);
  const customRow = h('div', { class: 'field-row', id: 'preprocess-custom' }, customScale.element, customMean.element, customStd.element);
  const preprocessNote = h('p', { class: 'hint', id: 'preprocess-note', 'aria-live': 'polite' });
  const checkCustom = () => {
    const custom = v.preprocess === 'custom';
    const p = custom ? customPreprocessProblems(v, channels) : {};
    customScale.setProblem(p.scale ?? null);
    customMean.setProblem(p.mean ?? null);
    customStd.setProblem(p.std ?? null);
    const spec = normalizeOf(v);
    preprocessNote.textContent = v.preprocess === 'unset'
      ? 'Choose how the inputs were preprocessed when the model was trained: the run does not guess (8-bit data would otherwise be fed wrong). Already-normalised float .npy: none.'
      : custom && (p.scale || p.mean || p.std)
        ? 'x′ = (x · scale − mean) ÷ std, per channel when a:b:c.'
        : `Each input value x becomes ${describeNormalize(spec!)}  (--normalize ${spec}).`;
  };
  const preprocess = dropdown<PreprocessChoice>({
    id: 'preprocess', label: 'Preprocessing', value: v.preprocess, options: PREPROCESS_CHOICES,
    onChange: (c) => {
      // Custom starts from what was chosen, so a small change to a preset is a small edit.
      if (c === 'custom' && v.preprocess !== 'unset') {
        Object.assign(v, customFieldsOf(v.preprocess));
        customScale.value = v.customScale;
        customMean.value = v.customMean;
        customStd.value = v.customStd;
      }
      v.preprocess = c;
      showData();
      cb.changed('preprocess');
    },
  });
  const sanity = checkbox({
    id: 'sanity-check', label: 'Check the data first: stop if the dense model is near chance under this preprocessing', checked: v.sanityCheck !== false,
    title: 'Before training, the dense model is evaluated on a few batches under the chosen preprocessing; if it is near chance (or another preset is clearly better) the run stops and names the presets that fit.',
    onChange: (c) => { v.sanityCheck = c; cb.changed('sanityCheck'); },
  });
  const preprocessFields = h('div', { id: 'preprocess-fields' }, h('div', { class: 'field-row' }, preprocess.element), customRow, preprocessNote, h('div', { class: 'field-row' }, sanity));
  const demoPreprocess = h('p', { class: 'hint', id: 'preprocess-demo' },
    `Preprocessing (fixed for the demo data): ${describeNormalize(MNIST_DEMO_NORMALIZE)} — MNIST mean/std.`);

  // Validation data.
  const valPercent = textField({
    id: 'val-percent', label: 'Hold out (%)', value: valPercentOk(v.valPercent) ? formatPercent(v.valPercent) : String(v.valPercent ?? ''), size: 5, inputMode: 'decimal', placeholder: String(DEFAULT_VAL_PERCENT),
    onInput: (t) => {
      const s = t.trim();
      v.valPercent = s === '' || !/^\d*\.?\d+$/.test(s) ? NaN : Number(s);
      showData();
      cb.changed('valPercent');
    },
  });
  const valPercentNote = h('p', { class: 'hint', id: 'val-percent-note', 'aria-live': 'polite' });
  const valPercentRow = h('div', { id: 'val-holdout-fields' }, h('div', { class: 'field-row' }, valPercent.element), valPercentNote);
  const valInputs = pathRow('valInputs', 'val-inputs', 'Validation inputs (.npy)', '/path/to/val_inputs.npy');
  const valLabels = pathRow('valLabels', 'val-labels', 'Validation labels (.npy)', '/path/to/val_labels.npy');
  const valDir = pathRow('valDir', 'val-dir', 'Validation image folder', '/path/to/val_images');
  const valNpyFields = h('div', { id: 'val-npy-fields' }, valInputs.row, valLabels.row);
  const valDirFields = h('div', { id: 'val-images-fields' }, valDir.row);
  const valKind = radioGroup({
    id: 'val-kind', label: 'Validation data', options: VALIDATION_KINDS, value: v.valKind, optionId: (k) => `val-${k}`,
    onChange: (k) => { v.valKind = k; showData(); cb.changed('valKind'); },
  });
  const validationFields = h('div', { id: 'validation-fields' }, valKind.element, valPercentRow, valNpyFields, valDirFields);
  const demoValidation = h('p', { class: 'hint', id: 'val-demo-note' }, 'Validation (fixed for the demo data): its 2,000-digit test split, never trained on.');

  const showValidation = () => {
    const separate = v.valKind === 'separate';
    valPercentRow.hidden = separate;
    valNpyFields.hidden = !separate || v.dataKind === 'images';
    valLabels.row.hidden = v.dataKind === 'distil';
    valDirFields.hidden = !separate || v.dataKind !== 'images';
    const ok = valPercentOk(v.valPercent);
    valPercent.setProblem(ok ? null : `A number from 0 to ${MAX_VAL_PERCENT}.`);
    valPercentNote.textContent = !ok ? ''
      : v.epochs === 0 ? 'One-shot runs hold nothing out: they evaluate on the training data.'
        : v.valPercent === 0 ? 'Nothing held out: the per-epoch accuracy is measured on the training data.'
          : `${formatPercent(v.valPercent)} % of the training samples (seeded) are held out for the per-epoch accuracy and never trained on; the dashboard names the count.`;
  };

  const showData = () => {
    for (const [k, el] of Object.entries(dataDetails)) el.hidden = k !== v.dataKind;
    npyInputs.control.value = v.npyInputs;
    distilInputs.control.value = v.npyInputs;
    const own = ownData(v.dataKind);
    preprocessFields.hidden = !own;
    validationFields.hidden = !own;
    demoPreprocess.hidden = v.dataKind !== 'mnist-demo';
    demoValidation.hidden = v.dataKind !== 'mnist-demo';
    customRow.hidden = v.preprocess !== 'custom';
    checkCustom();
    showValidation();
  };
  const dataKind = radioGroup({ id: 'data-kind', label: 'Training data', options: DATA_KINDS, value: v.dataKind, optionId: (k) => `data-${k}`, onChange: (k) => { v.dataKind = k; showData(); cb.changed('dataKind'); } });

  // Training
  const epochs = numberField('epochs', 'Epochs (0 = one-shot)', 'epochs');
  const batch = numberField('batch-size', 'Batch size', 'batchSize');
  const lr = textField({
    id: 'lr', label: 'Learning rate', value: v.lr === null ? '' : String(v.lr), size: 8, placeholder: 'default', inputMode: 'decimal',
    onInput: (t) => {
      const s = t.trim();
      v.lr = s === '' ? null : Number(s);
      lr.setProblem(v.lr !== null && !(Number.isFinite(v.lr) && v.lr > 0) ? 'A positive number, or empty for the default.' : null);
      cb.changed('lr');
    },
  });
  const optimizer = dropdown<OptimizerChoice>({
    id: 'optimizer', label: 'Optimizer', value: v.optimizer,
    options: [{ value: 'default', label: 'default' }, { value: 'sgd', label: 'SGD' }, { value: 'adamw', label: 'AdamW' }],
    onChange: (o) => { v.optimizer = o; cb.changed('optimizer'); },
  });
  const schedule = dropdown<ScheduleKind>({
    id: 'schedule', label: 'Sparsity schedule', value: v.schedule,
    options: SCHEDULE_KINDS.map((k) => ({ value: k, label: k })),
    onChange: (s) => { v.schedule = s; cb.changed('schedule'); },
  });
  const decayStart = numberField('decay-start', 'Decay start epoch', 'decayStart', 4);
  const decayEnd = numberField('decay-end', 'Decay end epoch', 'decayEnd', 4);
  const scheduleNote = h('p', { class: 'hint', id: 'schedule-off-note', 'aria-live': 'polite' });
  const refreshSchedule = () => {
    const note = scheduleOffNote(v.epochs, v.decayStart, v.decayEnd);
    scheduleNote.hidden = !note;
    scheduleNote.textContent = note ?? '';
    // The hold-out note depends on one-shot vs fine-tune.
    showValidation();
  };
  const bn = checkbox({ id: 'bn-recalibrate', label: 'Re-estimate BatchNorm statistics after pruning', checked: v.bnRecalibrate, onChange: (c) => { v.bnRecalibrate = c; cb.changed('bnRecalibrate'); } });

  // BatchNorm folded at export: what the run does about selected layers without BatchNorm (recounted on every
  // change of the selection, the data, the epochs or the BN options).
  let bnInfo: BatchNormInfo | null = null;
  const bnNote = h('div', { id: 'bn-folded-note', class: 'message message-info', role: 'status' });
  bnNote.hidden = true;
  const runNorm = checkbox({
    id: 'run-norm', label: 'Normalise layers without BatchNorm for the run (folded back at export)', checked: v.normalise,
    title: 'Each sparsified layer with no BatchNorm after it gets a normalisation that is the identity on the dense model; the run re-estimates or trains it, and the export folds it into the layer’s weight and bias.',
    onChange: (c) => { v.normalise = c; cb.changed('normalise'); },
  });
  const runNormRow = h('div', { class: 'field-row', id: 'run-norm-row' }, runNorm);
  runNormRow.hidden = true;
  const refreshBatchNorm = () => {
    const note = bnInfo ? batchNormNote(policy.includedRows(), bnInfo.nodes, opset, v) : null;
    bnNote.hidden = !note;
    runNormRow.hidden = !note || note.counts.normalisable === 0;
    if (!note) {
      bnNote.textContent = '';
      for (const k of ['case', 'folded', 'bnFree', 'normalisable']) delete bnNote.dataset[k];
      return;
    }
    bnNote.className = `message message-${note.tone}`;
    // A live region: only a changed text is announced again.
    if (bnNote.textContent !== note.text) bnNote.textContent = note.text;
    bnNote.dataset.case = note.runCase;
    bnNote.dataset.folded = String(note.folded);
    bnNote.dataset.bnFree = String(note.counts.bnFree);
    bnNote.dataset.normalisable = String(note.counts.normalisable);
  };

  // Output
  const output = pathRow('output', 'output', 'Output model', 'model.maxq-2of4.onnx');

  const formError = h('div', { id: 'form-error', role: 'alert' });
  const run = button({ id: 'run', label: 'Sparsify', appearance: 'primary', onClick: () => cb.run() });
  const cancel = button({ id: 'cancel', label: 'Cancel', appearance: 'secondary', onClick: () => cb.close() });
  const exportRecipe = button({ id: 'export-recipe', label: 'Export PyTorch recipe…', appearance: 'secondary', onClick: () => cb.exportRecipe() });
  exportRecipe.title = 'Write these settings as maxq-recipe.json for torchrun -m maxq_torch.train (PyTorch DDP on GPUs or several machines); follow that run here with “MaxQ: Follow Run Log…”';
  const recipeInfo = h('div', { id: 'recipe-info', role: 'status' });

  const inputText = describeInputs(inputs);
  const root = h('form', { id: 'sparsify-form', novalidate: true },
    section('model-section', 'Model', null, h('p', { id: 'model-summary' }, h('strong', {}, modelName), inputText ? h('span', { class: 'muted' }, ` — ${inputText}`) : null)),
    section('pattern-section', 'Pattern and method', null, h('div', { class: 'field-row' }, pattern.element), method.element),
    section('layers-section', 'Layers', 'Eligible layers follow the policy; tick or untick to override. Ineligible layers say why.',
      layersMessage, policy.table.element, h('div', { class: 'actions' }, layersSummary, resetLayers),
      h('div', { id: 'bn-norm' }, bnNote, runNormRow)),
    section('data-section', 'Data', null, dataKind.element, ...Object.values(dataDetails), preprocessFields, demoPreprocess, validationFields, demoValidation),
    section('training-section', 'Training', 'Coverage grows from 0% at the decay start epoch to 100% at the decay end epoch, then holds.',
      h('div', { class: 'field-row' }, epochs.element, batch.element, lr.element, optimizer.element),
      h('div', { class: 'field-row' }, schedule.element, decayStart.element, decayEnd.element),
      scheduleNote,
      h('div', { class: 'field-row' }, bn)),
    section('output-section', 'Output', 'Written beside the input unless you choose otherwise; an existing file is only replaced after you confirm.', output.row),
    h('div', { class: 'actions form-actions' }, run, cancel, exportRecipe),
    formError,
    recipeInfo,
  );
  root.addEventListener('submit', (e) => {
    e.preventDefault();
    cb.run();
  });

  showData();
  refreshSchedule();

  const paths: Record<PathField, TextFieldControl> = {
    npyInputs: npyInputs.control, npyLabels: npyLabels.control, imagesDir: imagesDir.control,
    valInputs: valInputs.control, valLabels: valLabels.control, valDir: valDir.control, output: output.control,
  };
  return {
    root,
    policy,
    setPathField(field, value) {
      v[field] = value;
      paths[field].value = value;
      if (field === 'npyInputs') distilInputs.control.value = value;
    },
    setOutput(p) {
      v.output = p;
      output.control.value = p;
    },
    setDecay(start, end) {
      v.decayStart = start;
      v.decayEnd = end;
      decayStart.value = String(start);
      decayEnd.value = String(end);
      decayStart.setProblem(null);
      decayEnd.setProblem(null);
      refreshSchedule();
    },
    refreshSchedule,
    setLayersMessage(text, kind = 'info') {
      layersMessage.replaceChildren(...(text ? [message(kind, text)] : []));
    },
    setLayersSummary(text) {
      layersSummary.textContent = text;
    },
    setBatchNorm(info) {
      bnInfo = info;
      refreshBatchNorm();
    },
    refreshBatchNorm,
    setPatternProblem(text) {
      pattern.setProblem(text);
    },
    setFormError(text) {
      formError.replaceChildren(...(text ? [message('error', text)] : []));
    },
    setRecipe(info) {
      recipeInfo.replaceChildren(...(info ? [
        h('p', {}, 'Recipe written: ', h('code', {}, info.path), '. Run it with maxq_torch installed (', h('code', {}, 'pip install ./python'), ' from the MaxQ Studio sources), then open the run with “MaxQ: Follow Run Log…”:'),
        h('pre', { id: 'recipe-command', class: 'command', tabindex: '0' }, info.command),
        h('p', { class: 'muted' }, 'On several machines (run on each; HOST is the first):'),
        h('pre', { id: 'recipe-multinode', class: 'command', tabindex: '0' }, info.multiNode),
      ] : []));
    },
    setRunning(running) {
      run.disabled = running;
      run.textContent = running ? 'Starting…' : 'Sparsify';
    },
  };
}
