/** Names of run-event logs (JSON lines): which files *MaxQ: Follow Run Log…* offers, and the dashboard's title. */
import * as path from 'path';

/** `.jsonl` / `.ndjson` files: what maxq_torch's `--events` and `maxq sparsify --events` write. */
export function isRunLogPath(p: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(p);
}

/** "MaxQ Run: model.maxq-2of4.torch" for `model.maxq-2of4.torch.events.jsonl`. */
export function runLogTitle(logPath: string): string {
  return `MaxQ Run: ${path.basename(logPath).replace(/(\.events)?\.(jsonl|ndjson)$/i, '')}`;
}
