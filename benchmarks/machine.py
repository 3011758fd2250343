"""The machine a benchmark measures on: its CPU's name, and whether other jobs keep its cores busy.

Timings only mean something on idle cores (benchmarks/README.md); the scripts that time record
the CPU beside their figures and warn before timing on a busy machine.
"""

import os
import platform
import re
import time


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    with open("/proc/cpuinfo") as f:
        match = re.search(r"model name\s*:\s*(.*)", f.read())
    return match.group(1).strip() if match else platform.processor() or platform.machine()


def vector_extensions() -> list[str]:
    """The CPU's vector extensions that set a training step's speed (avx2, avx512f, avx512_bf16, amx_bf16, ...),
    from /proc/cpuinfo's flags: two CPUs both called "AMD EPYC" can differ here, AVX-512 or only AVX2."""
    with open("/proc/cpuinfo") as f:
        match = re.search(r"^flags\s*:\s*(.*)$", f.read(), re.MULTILINE)
    flags = set(match.group(1).split()) if match else set()
    return sorted(flag for flag in flags if flag in ("avx2", "fma") or flag.startswith(("avx512", "amx")))


def describe() -> dict:
    """{"cpu", "vector_extensions", "cores"}: what a benchmark's wall times were measured on."""
    return {"cpu": cpu_model(), "vector_extensions": vector_extensions(), "cores": os.cpu_count()}


def busy_cores(seconds: float = 2.0) -> float:
    """How many cores' worth of CPU time the machine spent outside idle over the next `seconds` (0 to cores)."""
    def ticks():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # All, and idle + iowait.

    total_0, idle_0 = ticks()
    time.sleep(seconds)
    total_1, idle_1 = ticks()
    return os.cpu_count() * (1 - (idle_1 - idle_0) / max(total_1 - total_0, 1))
