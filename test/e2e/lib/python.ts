/** The Python the real-model UI tests run (Debian's python3-torch; setup.sh installs it). */
import { spawnSync } from 'child_process';

/** The first of /usr/bin/python3, python3 that imports every module named; else an error saying what `why` needs. */
export function pythonWith(modules: string[], why: string): string {
  for (const p of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(p, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0) return p;
  }
  const packages = modules.map((m) => `python3-${m}`).join(', ');
  throw new Error(`${why}: install ${packages} (bash scripts/setup.sh does)`);
}
