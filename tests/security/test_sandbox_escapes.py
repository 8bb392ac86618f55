"""Issue 13, items 1-4: every escape attempt in sandbox_attacks.ATTACKS, as root and as uid 65534.

The suite runs once per user (a module-scoped cache); each attack is then one test case. As root
(CI) the non-root run goes through a child started with `setpriv --reuid=65534 --regid=65534
--clear-groups`; as an ordinary user, the ordinary user is the non-root run and root's is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sandbox_attacks as sa

from lingxi.agents import _seccomp
from lingxi.agents.sandbox import Sandbox, SandboxLimits
from lingxi.errors import ToolError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux namespaces")
MODES = ["root", "nobody"]
_SUITES: dict[str, dict[str, dict] | Exception] = {}


@pytest.fixture(scope="module")
def targets():
    t = sa.Targets()
    yield t
    t.close()


def _suite(mode: str, targets: sa.Targets) -> dict[str, dict]:
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("the root run needs root (CI runs the tests as root)")
    if mode not in _SUITES:
        try:
            if mode == "nobody" and os.geteuid() == 0:
                _SUITES[mode] = targets.judge(sa.suite_as_nobody(targets))
            else:
                _SUITES[mode] = targets.judge(sa.run_suite(targets.spec))
        except Exception as exc:  # noqa: BLE001 - one failure (a hung child, say) fails every case once
            _SUITES[mode] = exc
    found = _SUITES[mode]
    if isinstance(found, Exception):
        raise AssertionError(f"the {mode} escape suite did not finish: {found}")
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("attack", sa.ATTACKS, ids=lambda a: f"item{a.item}-{a.name}")
def test_escape_attempt_is_contained(attack: sa.Attack, mode: str, targets: sa.Targets) -> None:
    obs = _suite(mode, targets)[attack.name]
    assert obs["contained"], json.dumps(obs, default=repr)[:3000]


@pytest.mark.parametrize("mode", MODES)
def test_the_kernel_holds_not_just_the_audit_hook(mode: str, targets: sa.Targets) -> None:
    """Through ctypes (which the hook allows) the namespaces and the seccomp filter refuse on their own."""
    obs = _suite(mode, targets)
    assert obs["ptrace_host_process"]["value"] == [-1, -1]
    assert obs["chroot_and_mount"]["value"] == [-1, -1]
    assert obs["nested_user_namespace"]["value"] == [-1, 1]  # EPERM from seccomp
    assert obs["kill_host_process"]["value"] == [-1, 3]  # ESRCH: the host's processes are not in its PID namespace
    assert obs["memfd_20x16mb"]["value"] == 0 and obs["sysv_shm_20x16mb"]["value"] == 0
    assert obs["hook_cleared_then_os_system"]["ok"] is True  # the shell ran, inside: only the wall held it


def test_the_non_root_run_really_was_unprivileged(targets: sa.Targets) -> None:
    obs = _suite("nobody", targets)["rename_outside"]
    assert obs["host_uid"] != 0
    assert "user namespace" in obs["isolation"]["user"]


def test_refuses_to_run_without_bubblewrap(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    with pytest.raises(ToolError) as err:
        Sandbox(bwrap=str(tmp_path / "no-bwrap")).run(f"open({str(canary)!r}, 'w')")
    assert "bubblewrap" in str(err.value) and "no code was run" in str(err.value)
    assert "apt-get install bubblewrap" in (err.value.hint or "")
    assert not canary.exists()


def test_refuses_to_run_without_libseccomp(monkeypatch: pytest.MonkeyPatch) -> None:
    _seccomp.filter_program.cache_clear()
    monkeypatch.setattr(_seccomp.ctypes.util, "find_library", lambda name: "libno-such-seccomp.so.9")
    try:
        with pytest.raises(ToolError, match="libseccomp"):
            Sandbox().run("1")
    finally:
        monkeypatch.undo()
        _seccomp.filter_program.cache_clear()


def test_refuses_to_run_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(ToolError, match="needs Linux namespaces"):
        Sandbox().run("1")


@pytest.mark.skipif(not sa.have_root(), reason="makes a user namespace without nested ones, as root")
def test_refuses_to_run_where_user_namespaces_are_off(targets: sa.Targets) -> None:
    """A non-root user who may not create user namespaces gets a ToolError, and the code never runs."""
    canary = targets.root / "rename_outside" / "userns-canary"
    probe = ("import json\nfrom lingxi.agents.sandbox import run_code\nfrom lingxi.errors import ToolError\n"
             f"try:\n    r = run_code(\"open({str(canary)!r}, 'w')\")\n    print(json.dumps(['ran', r.ok]))\n"
             "except ToolError as e:\n    print(json.dumps(['refused', str(e), e.hint]))")
    argv = ["bwrap", "--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns", "--bind", "/", "/",
            "--dev-bind", "/dev", "/dev", "--", sys.executable, "-c", probe]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    verdict = json.loads(proc.stdout.strip().splitlines()[-1])
    assert verdict[0] == "refused", proc.stdout + proc.stderr
    assert "no code was run" in verdict[1] and "namespace" in (verdict[1] + verdict[2]).lower()
    assert not canary.exists()


def test_nothing_is_left_in_the_temp_folder_after_a_normal_run() -> None:
    before = sa._sbx_dirs()
    r = Sandbox(SandboxLimits(timeout_s=3)).run("open('a.txt', 'w').write('x')\n1")
    assert r.ok and r.files == {"a.txt": b"x"}
    assert sa._sbx_dirs() - before == set()
