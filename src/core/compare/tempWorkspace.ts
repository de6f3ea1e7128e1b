/**
 * A private temp folder for a comparison's intermediate models. `dispose()` removes it; until then a process
 * 'exit' hook removes it too, so it goes away even when the process ends early (a second Ctrl-C, process.exit
 * from a caller). Dispose in a `finally`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export class TempWorkspace {
  private readonly exitHook = () => fs.rmSync(this.dir, { recursive: true, force: true });
  private disposed = false;

  private constructor(readonly dir: string) {
    process.on('exit', this.exitHook);
  }

  static async create(root: string = os.tmpdir(), prefix = 'maxq-compare-'): Promise<TempWorkspace> {
    return new TempWorkspace(await fs.promises.mkdtemp(path.join(root, prefix)));
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Removes the files of one finished run (the model and whatever sits beside it under the same name). */
  async removeFilesOf(file: string): Promise<void> {
    const base = path.basename(file);
    const names = await fs.promises.readdir(this.dir);
    await Promise.all(names.filter((n) => n.startsWith(base) || n.startsWith(`.${base}`)).map((n) => fs.promises.rm(path.join(this.dir, n), { recursive: true, force: true })));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    process.removeListener('exit', this.exitHook);
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}
