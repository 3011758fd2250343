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


# The CPU flags for which TensorFlow's Linux build uses its oneDNN kernels by default (DefaultOneDnnPolicy);
# on other CPUs, Eigen's, unless TF_ENABLE_ONEDNN_OPTS says otherwise (tfgan_course/__init__.py sets it to 1).
ONEDNN_DEFAULT_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it has none)."""
    with open("/proc/cpuinfo") as f:
        match = re.search(r"^flags\s*:\s*(.*)$", f.read(), re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def vector_extensions() -> list[str]:
    """The CPU's vector extensions that set a training step's speed (avx2, avx512f, avx512_bf16, amx_bf16, ...),
    from /proc/cpuinfo's flags: two CPUs both called "AMD EPYC" can differ here, AVX-512 or only AVX2."""
    return sorted(flag for flag in cpu_flags() if flag in ("avx2", "fma") or flag.startswith(("avx512", "amx")))


def tensorflow_kernels(flags=None, setting=None) -> str:
    """"onednn" or "eigen": TensorFlow's CPU kernels in a process with TF_ENABLE_ONEDNN_OPTS `setting` (default:
    this process's) on a CPU with `flags` (default: this one's). They ran the DCGAN-64 step 2.4x apart on an
    AVX2-only EPYC (benchmarks/README.md)."""
    setting = (os.environ.get("TF_ENABLE_ONEDNN_OPTS", "") if setting is None else setting).lower()
    if setting in ("1", "true"):
        return "onednn"
    if setting in ("0", "false"):
        return "eigen"
    return "onednn" if set(ONEDNN_DEFAULT_FLAGS) & set(cpu_flags() if flags is None else flags) else "eigen"


def describe() -> dict:
    """{"cpu", "vector_extensions", "cores", "tensorflow_kernels"}: what a benchmark's wall times were measured on."""
    return {"cpu": cpu_model(), "vector_extensions": vector_extensions(), "cores": os.cpu_count(),
            "tensorflow_kernels": tensorflow_kernels()}


def describe_kernels(description: dict) -> str:
    """A describe() dict's TensorFlow kernels; a record written before they were kept ran TensorFlow's default."""
    return description.get("tensorflow_kernels") or tensorflow_kernels(description["vector_extensions"], "")


def timing_session(measured: str) -> dict:
    """The fields every row of a timing session records: its start, the cores other jobs kept busy just before
    it (warned about above 0.2: `measured` beside them says nothing) and describe()'s machine."""
    busy = busy_cores()
    if busy > 0.2:
        print(f"warning: other jobs keep {busy:.1f} cores busy: {measured} measured beside them say nothing; "
              "stop them and measure again.", flush=True)
    return {"session": time.strftime("%Y-%m-%dT%H:%M:%S"), "busy_cores_before_session": round(busy, 2), **describe()}


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
