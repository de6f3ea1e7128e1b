/**
 * A minimal test runner for inside the extension host (no mocha: nothing to install into the host). Tests run in
 * registration order, each with its own timeout; output is TAP-like `ok - …` / `not ok - …` lines and a final
 * `N passed, N failed` line, which the code-server runner forwards from the browser console.
 */
export type TestFn = () => Promise<void> | void;

interface TestCase {
  name: string;
  fn: TestFn;
  timeoutMs: number;
}

const tests: TestCase[] = [];

export function test(name: string, fn: TestFn, timeoutMs = 30_000): void {
  tests.push({ name, fn, timeoutMs });
}

export interface Outcome {
  passed: number;
  failed: number;
  failures: string[];
}

export async function runRegistered(filter?: string): Promise<Outcome> {
  const selected = tests.filter((t) => !filter || t.name.includes(filter));
  const outcome: Outcome = { passed: 0, failed: 0, failures: [] };
  console.log(`1..${selected.length}`);
  for (const t of selected) {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(t.fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs);
        }),
      ]);
      outcome.passed++;
      console.log(`ok - ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      outcome.failed++;
      const msg = e instanceof Error ? e.message : String(e);
      outcome.failures.push(`${t.name}: ${msg}`);
      console.log(`not ok - ${t.name} (${Date.now() - started} ms)`);
      for (const line of msg.split('\n').slice(0, 20)) console.log(`#   ${line}`);
      if (e instanceof Error && e.stack && process.env.MAXQ_TEST_STACKS === '1') console.log(e.stack);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  return outcome;
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Expects `p` to reject; returns the error message. */
export async function assertRejects(p: Promise<unknown>, what: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error(`${what}: expected an error, but it succeeded`);
}
