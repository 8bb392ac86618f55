"""The llama.cpp engine: built portably, decodes multi-token prompts, and a broken one is reported, never crashed into.

The crash this guards against (the portable-engine issue): a -march=native build on a VM whose
CPU reports Intel AMX faults in ggml_backend_amx_mul_mat on the first multi-token batch; a
one-token prompt decodes fine, so a one-token smoke test passes.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lingxi.errors import ModelError
from lingxi.models import engine
from lingxi.models.llamacpp import LlamaCppChat
from lingxi.types import SamplingParams

LINGXI = str(Path(sys.executable).with_name("lingxi"))


def test_a_multi_token_prompt_decodes_through_the_real_provider(gguf_path):
    model = LlamaCppChat(gguf_path)
    prompt = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is"
    comp = model.chat([{"role": "user", "content": prompt}], SamplingParams(temperature=0, max_tokens=8))
    assert comp.usage.prompt_tokens > 16  # a real batch, not one token
    assert comp.usage.completion_tokens > 0 and comp.text.strip()


def test_the_installed_engine_is_the_portable_build():
    info = engine.engine_info()
    assert info.installed
    assert info.record.get("cmake_args") == engine.portable_flags(), info.record
    assert info.version.endswith("+" + engine.local_label()), info.version
    assert info.portable and not info.amx_in_build
    assert "-DGGML_NATIVE=OFF" in info.record["cmake_args"]
    system = engine.system_info()
    assert "AMX" not in system.replace("AMX_INT8 = 0", "").replace("AMX = 0", ""), system


@pytest.mark.skipif(engine.arch() != "x86_64" or not shutil.which("objdump"), reason="x86-64 with binutils")
def test_the_engine_binary_has_no_avx512_or_amx_instructions():
    """Read the machine code itself: a native build on an AVX-512/AMX host would use zmm/tmm registers."""
    libs = sorted(Path(engine.engine_info().library_dir).glob("libggml-cpu*.so*"))
    assert libs, engine.engine_info().library_dir
    for lib in libs:
        code = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True,
                              timeout=120).stdout
        assert len(code) > 100_000
        for register in ("%zmm", "%tmm", "ldtilecfg", "tdpbssd"):
            assert register not in code, f"{lib.name} uses {register}"


def test_flags_decide_the_wheel_label():
    flags = engine.portable_flags("x86_64")
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AMX_INT8=OFF" in flags and "-DGGML_AVX512=OFF" in flags
    assert engine.local_label("x86_64").startswith("lingxi.x8664.")
    assert engine.local_label("x86_64") != engine.local_label("aarch64")
    cmd = engine.reinstall_command("0.3.36+lingxi.x8664.abc")
    assert "--no-cache-dir" in cmd and "GGML_NATIVE=OFF" in cmd and "llama-cpp-python==0.3.36" in cmd


def _unknown_build(monkeypatch, crash: bool) -> None:
    fake = engine.EngineInfo(installed=True, version="0.3.36", portable=False, amx_in_build=True)
    monkeypatch.setattr(engine, "engine_info", lambda: fake)
    monkeypatch.setattr(engine, "cpu_flags", lambda: {"avx2", "amx_tile", "amx_int8"})
    if crash:  # the child dies exactly as the AMX build does
        monkeypatch.setattr(engine, "PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")


def test_a_crashing_engine_is_refused_with_a_sentence_not_a_segfault(monkeypatch, gguf_path, tmp_path):
    _unknown_build(monkeypatch, crash=True)
    safe, said = engine.load_verdict(str(gguf_path), tmp_path)
    assert not safe and "SIGSEGV" in said
    with pytest.raises(ModelError) as caught:
        LlamaCppChat(gguf_path).chat("hello there, how are you?", SamplingParams(max_tokens=2))
    assert "cannot run models on this machine" in caught.value.message
    assert "make engine" in caught.value.hint and "GGML_NATIVE=OFF" in caught.value.hint
    assert list(tmp_path.glob("engine-probe-*.json")), "the verdict is cached"


def test_a_working_unknown_build_is_probed_once_and_warned_about(monkeypatch, gguf_path, tmp_path):
    _unknown_build(monkeypatch, crash=False)
    safe, said = engine.load_verdict(str(gguf_path), tmp_path)
    assert safe and "AMX" in said
    cached = list(tmp_path.glob("engine-probe-*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())[0] is True
    monkeypatch.setattr(engine, "probe", lambda *a, **k: pytest.fail("probed twice"))
    assert engine.load_verdict(str(gguf_path), tmp_path)[0]


def test_amx_on_an_amx_cpu_is_named_as_the_crash():
    info = engine.EngineInfo(installed=True, version="0.3.36", amx_in_build=True)
    found = engine.problems(info, cpu={"avx2", "amx_tile"})
    assert "segmentation fault" in found[0][0] and "make engine" in found[0][1]
    assert engine.problems(engine.EngineInfo(installed=True, version="0.3.36+" + engine.local_label(),
                                             portable=True), cpu={"avx", "avx2", "fma", "f16c", "bmi2"}) == []


def test_a_native_crash_in_a_command_ends_in_one_sentence(tmp_path):
    crash = [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]
    done = subprocess.run([sys.executable, "-m", "lingxi.models.engine", *crash], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 128 + signal.SIGSEGV
    assert "died with a segmentation fault" in done.stderr and "hint: run 'lingxi doctor'" in done.stderr
    ok = subprocess.run([sys.executable, "-m", "lingxi.models.engine", sys.executable, "-c", "raise SystemExit(3)"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 3 and ok.stderr == ""


def test_threads_follow_the_physical_cores_and_openmp_waits_passively(gguf_path):
    cores = engine.physical_cores()
    assert engine.default_threads(load=0.0) == cores >= 1  # a quiet machine: every physical core
    assert engine.default_threads(load=cores + 1.0) == max(1, cores // 2)  # busier than its cores: half
    assert engine.default_threads() in {cores, max(1, cores // 2)}
    assert LlamaCppChat("x.gguf").n_threads is None  # chosen at load time by default_threads()
    code = ("import os; os.environ.pop('OMP_WAIT_POLICY', None)\n"
            "from lingxi.models.llamacpp import LlamaCppChat\n"
            f"LlamaCppChat({str(gguf_path)!r}).count_tokens('hi')\n"
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "PASSIVE", done.stderr


def test_doctor_json_reports_every_part():
    done = subprocess.run([LINGXI, "doctor", "--json"], capture_output=True, text=True, timeout=180)
    report = json.loads(done.stdout)
    assert set(report["checks"]) == {"cpu", "engine", "models", "embedder", "database", "fonts", "postgres"}
    eng = report["checks"]["engine"]
    assert eng["detail"]["portable"] is True and eng["detail"]["probe"]["ok"] is True, eng
    assert "CPU" in eng["detail"]["system_info"]
    assert report["checks"]["cpu"]["detail"]["default_threads"] >= 1
    assert any(m["alias"] == "smollm2" and m["status"] == "ready" for m in report["checks"]["models"]["detail"]["models"])
    for check in report["checks"].values():
        for p in check["problems"]:
            assert p["problem"] and p["fix"]
    assert done.returncode == (1 if report["status"] == "error" else 0)


def test_doctor_names_an_unreachable_postgres_and_exits_1(tmp_path):
    env = {"LINGXI_PG_DSN": "postgresql://nobody@127.0.0.1:9/none"}
    import os

    done = subprocess.run([LINGXI, "doctor", "--no-probe"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    assert done.returncode == 1
    assert "PostgreSQL at" in done.stdout and "not reachable" in done.stdout and "fix:" in done.stdout
