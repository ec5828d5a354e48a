"""A real SIGKILL in the middle of writing a result line, then `--resume`.

`RunDir.append` writes each result line with `os.write` on the samples.jsonl descriptor. The child run
gets a `sitecustomize.py` (from a temporary folder on its PYTHONPATH; nothing in agenteval knows about it)
that wraps `os.write` for calls made from `agenteval.store.rundir`: on the Nth result line it writes only
the first half of the bytes, fsyncs them, records what it wrote and SIGKILLs its own process. With
`--concurrency 1` line N is sample N-1, so the kill point is exact, not a matter of timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
N_SAMPLES = 12
KILL_POINTS = [1, 6, N_SAMPLES]  # first line, a middle line, the last line

SITECUSTOMIZE = '''\
"""Test fault injection (tests/reliability/test_kill_mid_write.py): tear result line N, then SIGKILL."""
import json
import os
import signal
import sys

_AT = int(os.environ.get("AGENTEVAL_TEST_TEAR_AT", "0"))
_RECORD = os.environ.get("AGENTEVAL_TEST_TEAR_RECORD", "")
_write = os.write
_lines = 0


def _tearing_write(fd, data):
    global _lines
    if sys._getframe(1).f_globals.get("__name__") != "agenteval.store.rundir":
        return _write(fd, data)
    _lines += 1
    if _lines < _AT:
        return _write(fd, data)
    line = bytes(data)
    half = line[: max(1, len(line) // 2)]
    done = 0
    while done < len(half):
        done += _write(fd, half[done:])
    os.fsync(fd)
    with open(_RECORD, "w") as fh:
        json.dump({"line": _lines, "wrote": len(half), "of": len(line),
                   "target": os.readlink(f"/proc/self/fd/{fd}")}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


if _AT > 0:
    os.write = _tearing_write
'''

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEVAL_TEST_TEAR_")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", LITELLM_LOCAL_MODEL_COST_MAP="True",
               NO_GCE_CHECK="true", COLUMNS="200")
    env.update(extra)
    return env


def _suite(folder: Path) -> Path:
    """12 samples; every third is answered wrong by stub:echo, so the means are not all 1."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(json.dumps({"id": f"q{i:02d}", "input": f"question {i}",
                               "expected": "something else" if i % 3 == 0 else f"question {i}"}) + "\n"
                   for i in range(N_SAMPLES))
    (folder / "rows.jsonl").write_text(rows)
    (folder / "s.yaml").write_text("name: tear\nmetrics: [exact_match, fuzzy_match]\nsamples:\n"
                                   "  - file: rows.jsonl\n")
    return folder / "s.yaml"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenteval", "run", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the kill: counts, per-metric means/n/unmeasured/pass rates, tokens."""
    return {
        "n_samples": summary["n_samples"], "n_errors": summary["n_errors"], "passed": summary["passed"],
        "usage": summary["usage"],
        "metrics": {name: {k: m[k] for k in ("mean", "n", "n_unmeasured", "pass_rate", "ci_method")}
                    for name, m in summary["metrics"].items()},
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("whole")
    suite = _suite(base)
    p = _run([str(suite), "--backend", "stub:echo", "--concurrency", "1", "--no-cache", "--out",
              str(base / "res")], _env())
    assert p.returncode == 0, p.stderr
    (run,) = (base / "res" / "runs").iterdir()
    summary: dict[str, Any] = json.loads((run / "summary.json").read_text())
    assert summary["n_samples"] == N_SAMPLES
    assert summary["metrics"]["exact_match"]["mean"] == pytest.approx(8 / 12)  # a real mix, not all 1
    return summary


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sigkill_mid_line_then_resume(tmp_path: Path, kill_at: int, uninterrupted: dict[str, Any]) -> None:
    suite = _suite(tmp_path)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    record_path = tmp_path / "tear.json"
    pythonpath = os.pathsep.join(x for x in (str(hook), os.environ.get("PYTHONPATH", "")) if x)
    res = tmp_path / "res"

    # 1. The run that dies half-way through writing line `kill_at`.
    killed = _run([str(suite), "--backend", "stub:echo", "--concurrency", "1", "--no-cache", "--out", str(res)],
                  _env(PYTHONPATH=pythonpath, AGENTEVAL_TEST_TEAR_AT=str(kill_at),
                       AGENTEVAL_TEST_TEAR_RECORD=str(record_path)))
    assert killed.returncode == -9, (killed.returncode, killed.stderr)  # died of SIGKILL, nothing else
    record = json.loads(record_path.read_text())
    (run,) = (res / "runs").iterdir()
    samples = run / "samples.jsonl"
    assert record["line"] == kill_at and record["target"] == str(samples.resolve())
    assert 0 < record["wrote"] < record["of"]

    # 2. The file really ends in a torn line: kill_at - 1 whole lines, then half of the next one.
    data = samples.read_bytes()
    assert not data.endswith(b"\n")
    *whole, torn = data.split(b"\n")
    assert len(whole) == kill_at - 1
    assert len(torn) == record["wrote"]
    assert torn.startswith(b'{"sample_id":"q%02d",' % (kill_at - 1))  # the sample being written
    with pytest.raises(json.JSONDecodeError):
        json.loads(torn)
    assert [json.loads(x)["sample_id"] for x in whole] == [f"q{i:02d}" for i in range(kill_at - 1)]
    assert not (run / "summary.json").exists()
    assert json.loads((run / "manifest.json").read_text())["finished_at"] is None

    # 3. Resume normally (no fault hook): the torn line is cut and only the unfinished samples are redone.
    resumed = _run([str(suite), "--out", str(res), "--resume", run.name], _env())
    assert resumed.returncode == 0, resumed.stderr
    final = samples.read_bytes()
    assert final.endswith(b"\n")
    lines = final.decode().splitlines()
    results = [json.loads(x) for x in lines]  # every line is valid JSON
    ids = [r["sample_id"] for r in results]
    assert ids == [f"q{i:02d}" for i in range(N_SAMPLES)]  # every sample exactly once, in task order
    assert len(ids) - len(set(ids)) == 0  # duplicates found: 0
    assert [x.encode() for x in lines[: kill_at - 1]] == whole  # finished results kept byte for byte
    assert all(r["error"] is None for r in results)
    summary = json.loads((run / "summary.json").read_text())
    assert _headline(summary) == _headline(uninterrupted)
    assert json.loads((run / "manifest.json").read_text())["finished_at"] is not None
