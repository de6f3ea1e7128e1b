"""The peak resident set of this process in KiB, for the bench's Python references.

On Linux ru_maxrss survives fork + exec, so a script started by a large bench process would report the parent's
peak; /proc/self/status's VmHWM belongs to this process alone and is read where it exists (see bench/peakRss.ts).
"""
import resource


def peak_rss_kb():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
