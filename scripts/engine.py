#!/usr/bin/env python3
"""Install llama-cpp-python built portably (no -march=native, no AMX), once per flag set.

    python scripts/engine.py            # into the running interpreter's environment
    LINGXI_ENGINE_FLAGS=native ...      # opt in to a host-tuned build (never the default)

llama-cpp-python ships only a source archive; pip compiles it with llama.cpp's defaults
(-march=native) and caches that wheel under a key that ignores CMAKE_ARGS, so a native
wheel built on one host is silently reused on another. This script instead builds the
wheel with the portable flags of ``lingxi.models.engine`` and a local version label
derived from them (``0.3.36+lingxi.x8664.<hash>``), keeps it in a wheelhouse
(``$LINGXI_WHEELHOUSE``, default ``<pip cache dir>/lingxi-wheels``) and installs it from
there. New flags give a new label, hence a new wheel; an old native wheel in pip's cache
is never consulted because pip is never asked to build from the source archive.

Standard library only: it runs before lingxi is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _engine_module():
    spec = importlib.util.spec_from_file_location("_lingxi_engine", ROOT / "src/lingxi/models/engine.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building the class
    spec.loader.exec_module(module)
    return module


engine = _engine_module()


def pinned_version() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    for dep in deps:
        match = re.fullmatch(r"llama-cpp-python==([\w.]+)", dep.replace(" ", ""))
        if match:
            return match.group(1)
    raise SystemExit("pyproject.toml pins no llama-cpp-python==VERSION")


def pip(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], **kw)


def wheelhouse() -> Path:
    if os.environ.get("LINGXI_WHEELHOUSE"):
        return Path(os.environ["LINGXI_WHEELHOUSE"]).expanduser()
    done = pip("cache", "dir", capture_output=True, text=True)
    base = done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "~/.cache/pip"
    return Path(base).expanduser() / "lingxi-wheels"


def choice() -> tuple[str, list[str]]:
    """(local version label, CMake flags) of the build asked for."""
    if os.environ.get("LINGXI_ENGINE_FLAGS") == "native":
        return f"lingxi.native.{os.uname().nodename.split('.')[0].lower() or 'host'}", ["-DGGML_NATIVE=ON"]
    return engine.local_label(), engine.portable_flags()


def installed_version() -> str | None:
    done = subprocess.run([sys.executable, "-c", "import importlib.metadata as m; print(m.version('llama-cpp-python'))"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def say(msg: str) -> None:
    print(f"engine: {msg}", flush=True)


def build(version: str, label: str, flags: list[str], house: Path) -> Path:
    full = f"{version}+{label}"
    with tempfile.TemporaryDirectory(prefix="lingxi-engine-") as tmp:
        tmp = Path(tmp)
        say(f"fetching the llama-cpp-python {version} source archive")
        done = pip("download", "--quiet", "--no-deps", "--no-binary", "llama-cpp-python",
                   f"llama-cpp-python=={version}", "-d", str(tmp), capture_output=True, text=True)
        archives = list(tmp.glob("llama_cpp_python-*.tar.gz"))
        if not archives:
            raise SystemExit(f"engine: could not download llama-cpp-python {version}:\n{done.stderr[-2000:]}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(tmp / "src", filter="data")
        source = next((tmp / "src").iterdir())
        init = source / "llama_cpp" / "__init__.py"
        init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{full}"', init.read_text("utf-8")), "utf-8")
        record = {"version": full, "cmake_args": flags, "baseline": "native" if "-DGGML_NATIVE=ON" in flags else engine.BASELINE.get(engine.arch(), "native"),
                  "arch": engine.arch(), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "built_by": "lingxi scripts/engine.py"}
        (source / "llama_cpp" / engine.BUILD_RECORD).write_text(json.dumps(record, indent=2), "utf-8")
        log = house / f"build-{label}.log"
        house.mkdir(parents=True, exist_ok=True)
        say(f"compiling llama.cpp for {record['baseline']} ({' '.join(f for f in flags if f.endswith('=ON'))});")
        say(f"this takes 10-20 minutes on 2 cores, once per machine: the wheel is kept in {house}")
        env = {**os.environ, "CMAKE_ARGS": " ".join(flags), "FORCE_CMAKE": "1",
               "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))}
        started = time.monotonic()
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps",
                                     "--no-cache-dir", "-v", "-w", str(tmp / "wheel"), str(source)],
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
            stop = threading.Event()
            threading.Thread(target=_progress, args=(log, stop, started), daemon=True).start()
            rc = proc.wait()
            stop.set()
        if rc != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"engine: the build failed (exit {rc}); the last lines of {log}:\n{tail}")
        wheel = next((tmp / "wheel").glob("*.whl"))
        target = house / wheel.name
        shutil.move(str(wheel), target)
        say(f"built {target.name} in {time.monotonic() - started:.0f} s")
        return target


def _progress(log: Path, stop: threading.Event, started: float) -> None:
    """One line a minute: how far CMake has got, read from the build log."""
    while not stop.wait(60):
        found = re.findall(r"\[(\d+)/(\d+)\]", log.read_text(errors="replace")[-20000:]) if log.exists() else []
        where = f"{int(found[-1][0]) * 100 // int(found[-1][1])}% compiled" if found else "configuring"
        say(f"  ... {where} ({time.monotonic() - started:.0f} s)")


def main() -> int:
    version = pinned_version()
    label, flags = choice()
    full = f"{version}+{label}"
    if installed_version() == full and "--force" not in sys.argv:
        say(f"llama-cpp-python {full} is installed")
        return 0
    house = wheelhouse()
    wheels = sorted(house.glob(f"llama_cpp_python-{version.replace('-', '_')}+{label}-*.whl"))
    wheel = wheels[-1] if wheels and "--rebuild" not in sys.argv else build(version, label, flags, house)
    say(f"installing {wheel.name}")
    done = pip("install", "--quiet", "--no-deps", "--force-reinstall", str(wheel), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"engine: pip could not install {wheel}:\n{done.stderr[-2000:]}")
    # the engine's own dependencies (numpy, jinja2, diskcache, typing-extensions) come with lingxi's install
    return 0


if __name__ == "__main__":
    sys.exit(main())
