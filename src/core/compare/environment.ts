/** The machine a comparison ran on, recorded in its report so timings can be read in context. Taken when it starts. */
import * as os from 'os';

export interface CompareEnvironment {
  node: string;
  platform: string;
  arch: string;
  osRelease: string;
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cpuCount: number;
  /** CPUs this process may use (cgroup/affinity limits included where Node sees them). */
  availableParallelism: number;
  totalMemoryGiB: number;
  /** onnxruntime-node version, or null when it cannot be read. */
  onnxruntime: string | null;
  /** 1, 5 and 15 min load averages when the comparison started (other work on the machine slows every run). */
  loadAverage: number[];
}

function onnxruntimeVersion(): string | null {
  try {
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

export function describeEnvironment(): CompareEnvironment {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    onnxruntime: onnxruntimeVersion(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
