"""`lingxi serve` as a user starts it: a subprocess on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import openai

from conftest import free_port


def test_lingxi_serve_subprocess(tmp_path):
    port = free_port()
    env = {**os.environ, "LINGXI_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())",
           "serve", "--no-auth", "--allow-any-model", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "lingxi serve did not come up"
            time.sleep(0.1)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
        reply = client.chat.completions.create(model="scripted:你好", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "你好"
    finally:
        proc.terminate()
        proc.wait(10)


def test_no_auth_refused_off_loopback(tmp_path):
    env = {**os.environ, "LINGXI_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())",
           "serve", "--no-auth", "--host", "0.0.0.0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not a loopback address" in done.stderr
