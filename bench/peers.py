"""Peers on the same work: DeepEval, Inspect AI and promptfoo beside agenteval and raw clients.

    .venv/bin/python bench/peers.py [--n 2000] [--full] [--concurrency 50] [--latency-ms 50]
                                    [--base-url URL] [--systems a,b,...] [--work DIR] [--fresh]

The work is the one of the issue's table: N chat completions (a system prompt and one question each)
against a local OpenAI-compatible server with 50 ms latency, 50 in flight, each answer checked for an
exact match. The server is bench/mock_server.py (127.0.0.1, exits when this script does, or after its
lifetime); `--base-url` uses a server you started instead.

The peers are installed by this script into throwaway places under `--work` (default
/tmp/agenteval-peers), never into the project: DeepEval and Inspect AI with pip into their own
virtualenvs, promptfoo with npm into its own folder. One that fails to install is skipped with the
reason; `--fresh` reinstalls. Each system runs in a fresh process (its own interpreter, or node), seen
from outside the same way for all of them:

- start-up s: wall time of a run with N=1 (spawn, imports, one 50 ms call, exit);
- wall and CPU ms/sample: the marginal cost per sample between two sizes, (cost(N2) - cost(N1)) /
  (N2 - N1): N1=1, N2=--n by default; with --full, N1=2,000 and N2=10,000 as in the issue's table. CPU
  is user + system time of the process and the children it waited for (os.wait4);
- peak RSS: the largest resident set of the process at the biggest N;
- exact: answers that matched / N.

Systems (`--systems` takes these keys):

  aiohttp        raw aiohttp client, one pooled session (the floor)
  openai_sdk     raw openai SDK, AsyncOpenAI(max_retries=0)
  litellm        raw litellm.acompletion
  ae_openai      `agenteval run` with the `openai:` backend (exact_match, results written, cache off)
  ae_litellm     `agenteval run` with `litellm:openai/...`
  deepeval       DeepEval evaluate() with AsyncConfig(max_concurrent=50); the model call is made in the
                 metric's a_measure (the openai SDK), results not cached or printed
  promptfoo      promptfoo eval --no-write --no-cache --no-table (no log), provider openai:chat
  inspect        Inspect AI eval(), provider openai, log_samples=False (no sample log)
  inspect_mock   Inspect AI eval() on mockllm/model (custom outputs: the right answer, usage set so it
                 counts no tokens): the harness alone, no HTTP

Nothing calls out: telemetry and update checks are switched off through the peers' own variables, and
every call goes to 127.0.0.1. What runs inside each system's interpreter is bench/peers_runners.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # peers_runners, mock_server

from peers_runners import MODEL, NO_CALLS_OUT, SYSTEM_PROMPT, question  # noqa: E402

RUNNER = HERE / "peers_runners.py"
PY_PEERS = {"deepeval": ["deepeval"], "inspect": ["inspect-ai", "openai"]}
SYSTEMS = ["aiohttp", "openai_sdk", "litellm", "ae_openai", "ae_litellm", "deepeval", "promptfoo", "inspect",
           "inspect_mock"]
LABELS = {
    "aiohttp": "raw aiohttp client (the floor)", "openai_sdk": "raw openai SDK",
    "litellm": "raw litellm.acompletion", "ae_openai": "agenteval run, openai:",
    "ae_litellm": "agenteval run, litellm:", "deepeval": "DeepEval evaluate()",
    "promptfoo": "promptfoo (no log)", "inspect": "Inspect AI (no sample log)",
    "inspect_mock": "Inspect AI, model-free (mockllm)",
}


@dataclass
class Measured:
    n: int
    wall_s: float
    cpu_s: float
    rss_mb: float
    rc: int
    correct: int | None
    log: Path


@dataclass
class Ready:
    """A system that can run: how to start it for a data size, and how to read its exact answers."""

    key: str
    version: str
    command: Callable[[int], tuple[list[str], Path]]
    """N -> (argv, folder to run in)."""
    correct: Callable[[int, str, Path], int | None]
    """(N, stdout, run folder) -> exact answers."""


def _result_line(n: int, out: str, folder: Path) -> int | None:
    m = re.search(r"^RESULT (\{.*\})$", out, re.M)
    return int(json.loads(m.group(1))["correct"]) if m else None


def measure(argv: list[str], cwd: Path, env: dict[str, str], log: Path, timeout_s: float) -> tuple[float, float,
                                                                                                     float, int]:
    """(wall s, CPU s, peak RSS MB, exit code) of one process (and the children it waited for)."""
    with log.open("w") as fh:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        kill()  # anything it left behind in its own process group
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def write_data(work: Path, n: int) -> Path:
    from mock_server import mock_answer  # bench/mock_server.py: the answers the server gives

    path = work / "data" / f"rows_{n}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for i in range(n):
                q = question(i)
                fh.write(json.dumps({"id": f"q{i}", "question": q, "expected": mock_answer(q)}) + "\n")
    return path


def write_suite(work: Path, n: int) -> Path:
    data = write_data(work, n)
    suite = work / "data" / f"suite_{n}.yaml"
    suite.write_text(json.dumps({
        "name": f"peers-{n}", "version": "1", "system": SYSTEM_PROMPT, "prompt": "{{ question }}",
        "metrics": ["exact_match"], "samples": [{"file": data.name}],
    }, indent=1) + "\n")
    return suite


def write_promptfoo_config(work: Path, n: int, base: str) -> Path:
    rows = [json.loads(line) for line in write_data(work, n).read_text().splitlines()]
    cfg = work / "data" / f"promptfoo_{n}.json"
    cfg.write_text(json.dumps({
        "description": f"peers {n}",
        "prompts": [json.dumps([{"role": "system", "content": SYSTEM_PROMPT},
                                {"role": "user", "content": "{{question}}"}])],
        "providers": [{"id": f"openai:chat:{MODEL}", "config": {"apiBaseUrl": base, "apiKey": "sk-bench"}}],
        "tests": [{"vars": {"question": r["question"]}, "assert": [{"type": "equals", "value": r["expected"]}]}
                  for r in rows],
    }))
    return cfg


def install_python_peer(work: Path, name: str, fresh: bool, timeout_s: float) -> tuple[Path | None, str]:
    """(python of a throwaway virtualenv with the peer, version) or (None, why not)."""
    venv = work / f"{name}-venv"
    marker = venv / ".peers-installed"
    wanted = " ".join(PY_PEERS[name])
    if fresh or not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(venv, ignore_errors=True)
        log = work / f"install-{name}.log"
        print(f"installing {name} ({wanted}) into {venv} ... (log: {log})", flush=True)
        with log.open("w") as fh:
            try:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=fh, stderr=fh,
                               timeout=300)
                rc = subprocess.run([str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "-q",
                                     *PY_PEERS[name]], stdout=fh, stderr=fh, timeout=timeout_s).returncode
            except (subprocess.SubprocessError, OSError) as exc:
                return None, f"install failed: {exc}"
        if rc != 0:
            tail = [ln for ln in log.read_text().splitlines() if ln.strip()][-1:]
            return None, f"pip install failed (exit {rc}): {tail[0] if tail else ''} (see {log})"
        marker.write_text(wanted)
    python = venv / "bin" / "python"
    dist = "inspect_ai" if name == "inspect" else name
    v = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                       capture_output=True, text=True, timeout=60)
    return python, v.stdout.strip() or "?"


def install_promptfoo(work: Path, fresh: bool, timeout_s: float) -> tuple[Path | None, str]:
    """(the promptfoo entry script in a throwaway npm folder, version) or (None, why not)."""
    folder = work / "promptfoo"
    pkg = folder / "node_modules" / "promptfoo" / "package.json"
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None, "node/npm not found"
    if fresh or not pkg.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "package.json").write_text('{"name": "peers-promptfoo", "private": true}\n')
        log = work / "install-promptfoo.log"
        print(f"installing promptfoo into {folder} with npm ... (log: {log})", flush=True)
        with log.open("w") as fh:
            try:
                rc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "promptfoo"], cwd=folder, stdout=fh,
                                    stderr=fh, timeout=timeout_s).returncode
            except (subprocess.SubprocessError, OSError) as exc:
                return None, f"npm install failed: {exc}"
        if rc != 0 or not pkg.exists():
            return None, f"npm install failed (exit {rc}), see {log}"
    version = json.loads(pkg.read_text())["version"]
    return folder / "node_modules" / ".bin" / "promptfoo", str(version)


def _promptfoo_correct(n: int, out: str, folder: Path) -> int | None:
    m = re.search(r"(\d[\d,]*) passed \(", out)
    return int(m.group(1).replace(",", "")) if m else None


def _agenteval_correct(n: int, out: str, folder: Path) -> int | None:
    summaries = sorted((folder / "results" / "runs").glob("*/summary.json"))
    if not summaries:
        return None
    s = json.loads(summaries[-1].read_text())
    mean = s["metrics"]["exact_match"]["mean"]
    return None if mean is None else round(mean * s["n_samples"])


def prepare(keys: list[str], work: Path, base: str, c: int, fresh: bool, install_timeout: float,
            skipped: dict[str, str]) -> list[Ready]:
    ready: list[Ready] = []
    me = sys.executable

    def runner(python: str, key: str) -> Callable[[int], tuple[list[str], Path]]:
        def command(n: int) -> tuple[list[str], Path]:
            folder = Path(tempfile.mkdtemp(prefix=f"{key}-{n}-", dir=work / "runs"))
            return [python, str(RUNNER), key, "--data", str(write_data(work, n)), "--base-url", base,
                    "-c", str(c)], folder
        return command

    def agenteval(spec: str, key: str, launcher: list[str]) -> Callable[[int], tuple[list[str], Path]]:
        def command(n: int) -> tuple[list[str], Path]:
            folder = Path(tempfile.mkdtemp(prefix=f"{key}-{n}-", dir=work / "runs"))
            return [me, *launcher, "run", str(write_suite(work, n)), "--backend", spec,
                    "-B", f"api_base={base}", "-B", "api_key=sk-bench", "-c", str(c), "--no-cache",
                    "--no-progress", "--out", str(folder / "results")], folder
        return command

    local_versions = _local_versions()
    for key in keys:
        if key in ("aiohttp", "openai_sdk", "litellm"):
            ready.append(Ready(key, local_versions.get(key, "?"), runner(me, key), _result_line))
        elif key == "ae_openai":
            launcher, note = _openai_launcher()
            if launcher is None:
                skipped[key] = note
                continue
            ready.append(Ready(key, local_versions["agenteval"] + note, agenteval(f"openai:{MODEL}", key, launcher),
                               _agenteval_correct))
        elif key == "ae_litellm":
            ready.append(Ready(key, local_versions["agenteval"], agenteval(f"litellm:openai/{MODEL}", key,
                                                                            ["-m", "agenteval"]), _agenteval_correct))
        elif key in ("deepeval", "inspect", "inspect_mock"):
            peer = "deepeval" if key == "deepeval" else "inspect"
            python, version = install_python_peer(work, peer, fresh, install_timeout)
            if python is None:
                skipped[key] = version
                continue
            ready.append(Ready(key, version, runner(str(python), key), _result_line))
        elif key == "promptfoo":
            entry, version = install_promptfoo(work, fresh, install_timeout)
            if entry is None:
                skipped[key] = version
                continue

            def pf_command(n: int, entry: Path = entry) -> tuple[list[str], Path]:
                folder = Path(tempfile.mkdtemp(prefix=f"promptfoo-{n}-", dir=work / "runs"))
                return [str(entry), "eval", "-c", str(write_promptfoo_config(work, n, base)), "--max-concurrency",
                        str(c), "--no-cache", "--no-write", "--no-table", "--no-progress-bar", "--no-share"], folder
            ready.append(Ready(key, version, pf_command, _promptfoo_correct))
        fresh = fresh and key not in ("deepeval", "inspect")  # install each venv once per invocation
    return ready


# `agenteval run` with the openai backend registered by hand, for a checkout whose installed entry points
# predate it (pip install -e . registers it): the same CLI and runner, only the registry lookup differs.
_REGISTER_OPENAI = ("import sys; from agenteval import registry; "
                    "from agenteval.backends.openai_compat import create; "
                    "registry.backends.register('openai', create); "
                    "from agenteval.cli.main import main; sys.exit(main(sys.argv[1:]))")


def _openai_launcher() -> tuple[list[str] | None, str]:
    """How to start `agenteval` so that `openai:` exists: (argv after python, note) or (None, why not)."""
    import importlib.metadata as md
    import importlib.util

    if any(ep.name == "openai" for ep in md.entry_points(group="agenteval.backends")):
        return ["-m", "agenteval"], ""
    if importlib.util.find_spec("agenteval.backends.openai_compat") is None:
        return None, "this checkout has no openai: backend (agenteval/backends/openai_compat.py)"
    return ["-c", _REGISTER_OPENAI], " (openai: entry point not installed: registered by the bench)"


def _local_versions() -> dict[str, str]:
    import importlib.metadata as md

    out: dict[str, str] = {}
    for key, dist in (("aiohttp", "aiohttp"), ("openai_sdk", "openai"), ("litellm", "litellm"),
                      ("agenteval", "agenteval")):
        try:
            out[key] = md.version(dist)
        except md.PackageNotFoundError:
            out[key] = "?"
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if sha.returncode == 0:
        out["agenteval"] += f"+{sha.stdout.strip()}"
    return out


def start_server(latency_ms: float, lifetime_s: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "mock_server.py"), "--latency-ms", str(latency_ms),
                             "--max-lifetime-s", str(lifetime_s), "--parent-pid", str(os.getpid())],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    if not line or not line[0].startswith("READY "):
        proc.kill()
        raise SystemExit(f"the mock server did not start: {line}")
    return proc, line[0].split()[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/peers.py", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="samples (default 2000)")
    p.add_argument("--full", action="store_true", help="marginal cost between N=2,000 and N=10,000 (the issue's)")
    p.add_argument("--concurrency", "-c", type=int, default=50)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--base-url", default=None, help="use this OpenAI-compatible server (…/v1) instead of starting one")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of: {', '.join(SYSTEMS)}")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "agenteval-peers",
                   help="throwaway folder for the peers' installs and runs (default /tmp/agenteval-peers)")
    p.add_argument("--fresh", action="store_true", help="reinstall the peers")
    p.add_argument("--install-timeout", type=float, default=900.0)
    p.add_argument("--run-timeout", type=float, default=600.0, help="per process, seconds")
    a = p.parse_args(argv)
    keys = [k.strip() for k in a.systems.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SYSTEMS]
    if unknown:
        p.error(f"unknown system(s) {unknown}; choose from {SYSTEMS}")
    sizes = [2000, 10000] if a.full else [1, a.n]
    work: Path = a.work
    (work / "runs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **NO_CALLS_OUT, "PROMPTFOO_CONFIG_DIR": str(work / "promptfoo-home")}

    server = None
    base = a.base_url
    if base is None:
        server, base = start_server(a.latency_ms, lifetime_s=3 * 3600)
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
        skipped: dict[str, str] = {}
        ready = prepare(keys, work, base, a.concurrency, a.fresh, a.install_timeout, skipped)
        for key, why in skipped.items():
            print(f"skipped {LABELS[key]}: {why}", flush=True)
        results: dict[str, dict[int, Measured]] = {}
        runs = sorted({1, *sizes})
        for r in ready:
            results[r.key] = {}
            for n in runs:
                argv_n, folder = r.command(n)
                log = folder / "output.log"
                wall, cpu, rss, rc = measure(argv_n, folder, env, log, a.run_timeout)
                out = log.read_text(errors="replace")
                correct = r.correct(n, out, folder) if rc == 0 else None
                results[r.key][n] = Measured(n, wall, cpu, rss, rc, correct, log)
                print(f"  {LABELS[r.key]:<36} N={n:<6} wall {wall:7.2f}s cpu {cpu:7.2f}s rss {rss:6.0f}MB "
                      f"exit {rc}" + (f" exact {correct}/{n}" if correct is not None else "")
                      + ("" if rc == 0 else f"  (see {log})"), flush=True)
                if rc != 0:
                    skipped[r.key] = f"exit {rc} at N={n}: " + _last_line(out) + f" (see {log})"
                    break
                shutil.rmtree(folder, ignore_errors=True)  # keep only the folders of failed runs
        print_table(ready, results, skipped, sizes, a)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def print_table(ready: list[Ready], results: dict[str, dict[int, Measured]], skipped: dict[str, str],
                sizes: list[int], a: argparse.Namespace) -> None:
    n1, n2 = sizes
    limit_ms = a.latency_ms / a.concurrency
    print()
    print(f"{a.latency_ms:g} ms server, concurrency {a.concurrency}: physical limit {limit_ms:.2f} ms/sample; "
          f"marginal cost per sample between N={n1:,} and N={n2:,}; start-up = a run with N=1; "
          f"{os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.2f} (a shared machine adds noise)")
    if n2 - n1 < 1000:
        print(f"(only {n2 - n1} samples between the sizes: start-up noise dominates these per-sample figures)")
    print()
    print("| system | version | wall ms/sample | × limit | × floor | CPU ms/sample | start-up s | "
          f"peak RSS at {n2:,} | exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    floor = None
    rows: list[tuple[Ready, float, float, float, float, str]] = []
    for r in ready:
        m = results.get(r.key, {})
        if r.key in skipped or n1 not in m or n2 not in m:
            continue
        wall = (m[n2].wall_s - m[n1].wall_s) / (n2 - n1) * 1000
        cpu = (m[n2].cpu_s - m[n1].cpu_s) / (n2 - n1) * 1000
        right = m[n2].correct
        exact = "?" if right is None else f"{right / n2:.0%}"
        rows.append((r, wall, cpu, m[1].wall_s if 1 in m else float("nan"), m[n2].rss_mb, exact))
        if r.key == "aiohttp":
            floor = wall
    for r, wall, cpu, start, rss, exact in rows:
        ratio = f"{wall / floor:.2f}" if floor else "—"
        print(f"| {LABELS[r.key]} | {r.version} | {wall:.2f} | {wall / limit_ms:.2f} | {ratio} | {cpu:.2f} | "
              f"{start:.1f} | {rss:.0f} MB | {exact} |")
    for key, why in skipped.items():
        print(f"| {LABELS[key]} | — | not measured: {why} | | | | | | |")


if __name__ == "__main__":
    sys.exit(main())
