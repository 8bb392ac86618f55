"""What llama.cpp engine is installed, how it was built, and whether it runs on this CPU.

llama-cpp-python compiles llama.cpp at install time with ``-march=native`` unless told
otherwise. Such a build can die on another host (an illegal instruction), and on a
virtual machine that reports Intel AMX but does not grant the tile state it dies on
this very host (a general-protection fault in ``ggml_backend_amx_mul_mat``). lingxi's
install (``scripts/engine.py``) builds a portable wheel instead and records how, in
``llama_cpp/_lingxi_build.json``; this module reads that record, the CPU's features
and the engine's own report, and probes a model in a child process.

Standard library only: ``scripts/engine.py`` loads this file before lingxi is installed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "llama-cpp-python"
BUILD_RECORD = "_lingxi_build.json"

# The portable baselines. x86-64-v3 (AVX2, FMA, F16C, BMI2): every x86-64 CPU since
# 2013-2015 (Haswell, Excavator/Zen). AVX-512 and AMX stay off: AMX faults in VMs that
# report it without granting the tile state, and AVX-512 is missing on many hosts.
PORTABLE_FLAGS = {
    "x86_64": [
        "-DGGML_NATIVE=OFF", "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON",
        "-DGGML_BMI2=ON", "-DGGML_AVX_VNNI=OFF", "-DGGML_AVX512=OFF", "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF",
    ],
    "aarch64": ["-DGGML_NATIVE=OFF"],  # armv8-a with llama.cpp's portable defaults
}
BASELINE = {"x86_64": "x86-64-v3", "aarch64": "armv8-a"}
# CPU features (Linux /proc/cpuinfo names) the x86-64-v3 build needs.
REQUIRED_CPU = {"x86_64": ["avx", "avx2", "fma", "f16c", "bmi2"], "aarch64": []}
AMX_CPU = ("amx_tile", "amx_int8", "amx_bf16")


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def portable_flags(machine: str | None = None) -> list[str]:
    return list(PORTABLE_FLAGS.get(machine or arch(), ["-DGGML_NATIVE=OFF"]))


def local_label(machine: str | None = None) -> str:
    """The PEP 440 local version label of a portable wheel: changes whenever the flags change,
    so a wheel built with other flags (pip's cached native one included) is never taken for it."""
    machine = machine or arch()
    digest = hashlib.sha256(" ".join(portable_flags(machine)).encode()).hexdigest()[:8]
    return f"lingxi.{machine.replace('_', '')}.{digest}"


def reinstall_command(version: str) -> str:
    """The command that replaces any installed engine with a portable build (outside the repo)."""
    flags = " ".join(portable_flags())
    return (f'CMAKE_ARGS="{flags}" pip install --force-reinstall --no-cache-dir --no-deps '
            f'--no-binary {PACKAGE} {PACKAGE}=={version.split("+")[0]}')


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def physical_cores() -> int:
    """Physical cores this process may use: distinct (package, core) pairs among its CPUs."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores, cpu, package = set(), None, "0"
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return len(usable) or 1
    for line in lines + [""]:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "processor":
            cpu = int(value)
        elif key == "physical id":
            package = value
        elif key == "core id" and cpu in usable:
            cores.add((package, value))
    return len(cores) or len(usable) or 1


def default_threads(load: float | None = None) -> int:
    """Threads for local generation, chosen when a model loads: one per physical core this process may
    use (hyper-threads add nothing to a memory-bound decode), but half of them when the machine is
    already busier than it has cores (1-minute load average above the core count). Measured with
    SmolLM2 on 2 cores, OpenMP waiting passively (bench/results/engine_builds.md): at load 6, 2 threads
    20.1 tok/s vs 1 thread 18.3; at load 13-18, 2 threads 15.4 vs 1 thread 46.1, because each token
    waits for the slowest of the threads and a busy machine keeps one of them off a core."""
    cores = max(1, physical_cores())
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, cores // 2) if load > cores else cores


def quiet_openmp() -> None:
    """Make OpenMP threads sleep rather than spin while they wait (unless the user chose): before the
    engine's library is loaded. Spinning threads on a shared machine stall every token."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def system_info() -> str:
    """llama.cpp's own report of the features it was compiled with ('' when it cannot be read)."""
    try:
        import llama_cpp

        raw = llama_cpp.llama_print_system_info()
    except Exception:  # noqa: BLE001 - a report, never a crash
        return ""
    return (raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)).strip()


@dataclass
class EngineInfo:
    installed: bool
    version: str = ""
    portable: bool = False  # built by lingxi's portable install (a build record with the current flags)
    record: dict = field(default_factory=dict)
    amx_in_build: bool = False
    native_in_build: bool | None = None  # from the wheel's ggml-config.cmake when present
    library_dir: str = ""

    @property
    def label_matches(self) -> bool:
        return self.version.endswith("+" + local_label())


def _package_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def engine_info() -> EngineInfo:
    """Everything that can be read about the installed engine without loading it."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return EngineInfo(installed=False)
    info = EngineInfo(installed=True, version=version)
    pkg = _package_dir()
    if pkg is None:
        return info
    info.library_dir = str(pkg / "lib")
    record = pkg / BUILD_RECORD
    if record.is_file():
        try:
            info.record = json.loads(record.read_text("utf-8"))
        except ValueError:
            info.record = {}
    info.portable = bool(info.record) and info.record.get("cmake_args") == portable_flags() and info.label_matches
    libs = sorted((pkg / "lib").glob("libggml-cpu*.so*")) if (pkg / "lib").is_dir() else []
    info.amx_in_build = any(_has_symbol(lib, b"ggml_backend_amx") for lib in libs)
    config = _ggml_config(pkg)
    if config is not None:
        info.native_in_build = 'set(GGML_NATIVE "ON")' in config
    return info


def _has_symbol(path: Path, needle: bytes) -> bool:
    try:
        with path.open("rb") as f:
            return needle in f.read()
    except OSError:
        return False


def _ggml_config(pkg: Path) -> str | None:
    """The ggml-config.cmake that llama-cpp-python installs beside the package (site-packages/lib/cmake)."""
    for path in (pkg.parent / "lib" / "cmake" / "ggml" / "ggml-config.cmake", pkg / "lib" / "cmake" / "ggml" / "ggml-config.cmake"):
        if path.is_file():
            return path.read_text(errors="replace")
    return None


def problems(info: EngineInfo, cpu: set[str] | None = None) -> list[tuple[str, str]]:
    """(what is wrong, what to do) for the installed engine on this CPU."""
    cpu = cpu_flags() if cpu is None else cpu
    if not info.installed:
        return [("llama-cpp-python is not installed", "run: make install (or python scripts/engine.py)")]
    fix = f"rebuild it portably: make engine (outside the repo: {reinstall_command(info.version)})"
    out = []
    if info.amx_in_build and any(f in cpu for f in AMX_CPU):
        out.append(("the engine was built with Intel AMX on a CPU that reports AMX; inside most VMs the first "
                    "matrix multiply dies with a segmentation fault", fix))
    elif info.amx_in_build:
        out.append(("the engine was built with Intel AMX (a -march=native build from another host)", fix))
    if info.native_in_build:
        out.append(("the engine was compiled with -march=native (GGML_NATIVE=ON): it can crash on any other CPU, "
                    "and on this one where the VM hides AVX-512 or AMX state", fix))
    elif not info.portable:
        out.append(("the engine was not built by lingxi's portable install (pip's default is -march=native, "
                    "which can crash on other CPUs)", fix))
    missing = [f for f in REQUIRED_CPU.get(arch(), []) if cpu and f not in cpu]
    if missing and info.portable:
        out.append((f"this CPU lacks {', '.join(missing)}, which the {BASELINE.get(arch())} build needs",
                    "rebuild on this host with: LINGXI_ENGINE_FLAGS=native make engine"))
    return out


PROBE = r"""
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
out = llm.create_completion("The capital of France is Paris. The capital of Italy is", max_tokens=2, temperature=0)
print("ok", out["usage"]["prompt_tokens"])
"""


def probe(model_path: str, timeout: float = 120.0) -> tuple[bool, str]:
    """Decode a multi-token prompt in a child process: (ok, what happened). Never crashes the caller."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, model_path], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    except subprocess.TimeoutExpired:
        return False, f"the probe did not finish in {timeout:.0f} s"
    if done.returncode == 0 and done.stdout.startswith("ok"):
        return True, "a multi-token prompt decoded"
    if done.returncode < 0:
        import signal

        name = signal.Signals(-done.returncode).name
        return False, f"the engine died with {name} decoding a multi-token prompt"
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return False, f"the probe failed (exit {done.returncode}): {tail[0][:200]}"


def load_verdict(model_path: str, cache_dir: Path) -> tuple[bool, str]:
    """Before this process loads a GGUF: (safe, a warning or the reason it is unsafe).

    A portable build without AMX is trusted at no cost. Any other build is probed once in a
    child process per (engine, CPU, model file); the verdict is kept in ``cache_dir``.
    """
    info = engine_info()
    if info.portable and not info.amx_in_build:
        return True, ""
    try:
        st = os.stat(model_path)
    except OSError:
        return True, ""  # the loader reports a missing file in its own words
    key = hashlib.sha256(json.dumps([info.version, info.record, info.amx_in_build, sorted(cpu_flags()),
                                     os.path.realpath(model_path), st.st_size, st.st_mtime_ns]).encode()).hexdigest()[:16]
    cache = cache_dir / f"engine-probe-{key}.json"
    try:
        ok, said = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        ok, said = probe(model_path)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps([ok, said]), "utf-8")
        except OSError:
            pass
    if not ok:
        return False, said
    found = problems(info)
    return True, found[0][0] + "; " + found[0][1] if found else ""


_DEATHS = {
    "SIGSEGV": "a segmentation fault", "SIGILL": "an illegal instruction (code compiled for another CPU)",
    "SIGBUS": "a bus error", "SIGABRT": "an abort in native code", "SIGFPE": "a floating-point exception",
    "SIGKILL": "SIGKILL (most often the kernel's out-of-memory killer)",
}


def supervise(argv: list[str]) -> int:
    """Run a command; if it dies by a signal, say so in one sentence with a hint instead of a bare
    'Segmentation fault'. Ctrl-C reaches the command (same process group) and is not reported."""
    import signal

    proc = subprocess.Popen(argv)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        rc = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if rc >= 0 or -rc == signal.SIGINT:
        return rc if rc >= 0 else 130
    name = signal.Signals(-rc).name
    cmd = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))
    print(f"error: '{cmd}' died with {_DEATHS.get(name, name)}.", file=sys.stderr)
    print("hint: run 'lingxi doctor' to see which part failed; for the llama.cpp engine, rebuild it portably with "
          "'make engine'", file=sys.stderr)
    return 128 - rc


if __name__ == "__main__":  # python -m lingxi.models.engine COMMAND ...
    sys.exit(supervise(sys.argv[1:]) if sys.argv[1:] else 2)
