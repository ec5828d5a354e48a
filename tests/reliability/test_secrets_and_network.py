"""Secrets never reach disk; nothing calls out at import or by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-PLANTED-0123456789abcdef"


def agenteval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def test_a_planted_key_appears_in_no_file_the_run_wrote(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        p = agenteval("run", "suites/qa.yaml", "--backend", "litellm:openai/gpt-4o-mini", "-B",
                      f"api_base={srv.base_url}", "-B", f"api_key={KEY}", "-B", f"extra_headers={{'x-token': '{KEY}'}}",
                      "--out", str(tmp_path), env={"OPENAI_API_KEY": KEY})
        assert p.returncode in (0, 1), p.stderr
    run = next((tmp_path / "runs").iterdir())
    assert agenteval("report", run.name, "--results", str(tmp_path)).returncode == 0
    assert agenteval("leaderboard", "--out", str(tmp_path / "lb.json"), "--results", str(tmp_path)).returncode == 0
    assert agenteval("modelcard", run.name, "--results", str(tmp_path)).returncode == 0
    assert agenteval("baseline", "set", "main", run.name, "--results", str(tmp_path), "--baselines",
                     str(tmp_path / "baselines")).returncode == 0
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(written) >= 8  # manifest, samples, summary, cache, report, leaderboard, card, baseline...
    leaks = [str(f) for f in written if KEY.encode() in f.read_bytes()]
    assert leaks == []
    assert KEY not in p.stdout + p.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["backend"]["options"]["api_key"] == "***"


GUARD = '''
import socket, sys
_orig = socket.socket.connect
def _guard(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")) \\
            and self.family in (socket.AF_INET, socket.AF_INET6):
        sys.stderr.write(f"BLOCKED OUTBOUND {address}\\n")
        raise OSError("network is off in this test")
    return _orig(self, address)
socket.socket.connect = _guard
_orig_gai = socket.getaddrinfo
def _gai(host, *a, **k):
    if host not in (None, "localhost") and not str(host).startswith("127.") and host != "::1":
        sys.stderr.write(f"BLOCKED DNS {host}\\n")
        raise OSError("network is off in this test")
    return _orig_gai(host, *a, **k)
socket.getaddrinfo = _gai
'''


def test_cli_works_with_networking_off(tmp_path: Path) -> None:
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    env = {"PYTHONPATH": f"{tmp_path / 'guard'}{os.pathsep}{REPO}"}
    for key in ("LITELLM_LOCAL_MODEL_COST_MAP", "NO_GCE_CHECK", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        env[key] = ""  # the defaults must hold on their own
    clean = {k: v for k, v in os.environ.items() if k not in env}
    with FakeOpenAIServer() as srv:
        for args in (["--help"], ["validate", "suites/qa.yaml"], ["list", "metrics"],
                     ["run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path / "r")],
                     ["run", "suites/qa.yaml", "--backend", "litellm:openai/gpt-4o-mini", "-B",
                      f"api_base={srv.base_url}", "-B", "api_key=x", "--out", str(tmp_path / "r")]):
            p = subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=REPO, capture_output=True,
                               text=True, timeout=180, env={**clean, **{k: v for k, v in env.items() if v}})
            assert "BLOCKED" not in p.stderr, (args, p.stderr[-2000:])
            assert p.returncode in (0, 1), (args, p.stderr[-2000:])
