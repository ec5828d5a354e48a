"""Harness overhead with no model: CPU per sample of `agenteval run` with the stub backend.

    .venv/bin/python bench/overhead.py [--n 2000] [--marginal-n 10000] [--repeats 3]

Writes a suite of N samples (a system prompt, a Jinja prompt, exact_match; half the answers right)
and runs it in fresh child processes, each measured by its CPU time (user + sys, from wait4) and
wall time:

  bare_loop          the floor: a Python loop that reads the same data file, formats the same prompt,
                     builds a result line of the same shape (json.dumps) and writes it with one
                     os.write per line, then reads the file back once
  agenteval_nocache  `agenteval run SUITE --backend stub:echo --no-cache` (results written, summary)
  agenteval_cache    the same with the response cache on (the default): a first run, which fills it
  agenteval_cached   the same command again: every answer comes from the cache

Each system runs at N and at the marginal N; the printed cost per sample is the difference of the
two divided by the difference of the sizes, so interpreter start, imports and fixed costs cancel out
(the same "marginal cost between N=2,000 and N=10,000" as the table in issue 7). With `--repeats R`
each measurement is taken R times, interleaved, and the lowest kept (the machine is shared).
Goal: agenteval's marginal CPU <= 0.5 ms per sample.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SUITE_YAML = """\
name: bench-overhead
version: "1"
system: Answer with the number only.
prompt: "Question: {{ question }}\\nAnswer:"
metrics:
  - exact_match
samples:
  - file: data.jsonl
    fields: {id: id, expected: answer}
"""


def prompt_for(i: int) -> str:
    return f"Question: What is {i} plus {i}?\nAnswer:"


def write_suite(folder: Path, n: int) -> Path:
    """A suite of n samples in `folder`; stub:echo answers the prompt, which is right for odd i."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            answer = prompt_for(i) if i % 2 else str(2 * i)
            fh.write(json.dumps({"id": f"s{i:07d}", "question": f"What is {i} plus {i}?", "answer": answer}) + "\n")
    path = folder / "suite.yaml"
    path.write_text(SUITE_YAML, encoding="utf-8")
    return path


def bench_env() -> dict[str, str]:
    """The environment for measured children: as a user's shell has it, so without
    PYTHONDONTWRITEBYTECODE (children then write and reuse bytecode caches as an installed package does)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def agenteval_cmd() -> list[str]:
    """The installed console script next to this interpreter, else `python -m agenteval`."""
    script = Path(sys.executable).with_name("agenteval")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agenteval"]


@dataclass
class Measure:
    cpu_s: float
    wall_s: float
    maxrss_mb: float


def measure(cmd: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> Measure:
    """Run `cmd` in a child and return its CPU (user + sys), wall time and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-2000:]}")
    return Measure(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024)


BARE_LOOP = r'''
import json, os, sys
data, out = sys.argv[1], sys.argv[2]
system = "Answer with the number only."
fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
with open(data, encoding="utf-8") as fh:
    for line in fh:
        row = json.loads(line)
        prompt = "Question: " + row["question"] + "\nAnswer:"
        output = prompt
        ok = " ".join(output.casefold().split()) == " ".join(str(row["answer"]).casefold().split())
        result = {"sample_id": row["id"], "repeat": 0, "input": prompt, "output": output,
                  "expected": row["answer"],
                  "trace": {"output": output, "messages": [{"role": "system", "content": system},
                                                           {"role": "user", "content": prompt},
                                                           {"role": "assistant", "content": output}]},
                  "scores": {"exact_match": {"value": float(ok), "passed": ok}}}
        os.write(fd, (json.dumps(result) + "\n").encode())
os.close(fd)
n = passed = 0
with open(out, encoding="utf-8") as fh:
    for line in fh:
        n += 1
        passed += json.loads(line)["scores"]["exact_match"]["passed"]
print(n, passed / n)
'''


def run_system(name: str, suite: Path, work: Path) -> Measure:
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"out-{name}"
    env = bench_env()
    if name == "bare_loop":
        target = work / "bare.jsonl"
        target.unlink(missing_ok=True)
        return measure([sys.executable, "-c", BARE_LOOP, str(suite.parent / "data.jsonl"), str(target)], env=env)
    base = [*agenteval_cmd(), "run", str(suite), "--backend", "stub:echo", "--no-progress", "--out", str(out)]
    if name == "agenteval_nocache":
        shutil.rmtree(out, ignore_errors=True)
        return measure([*base, "--no-cache"], env=env)
    if name == "agenteval_cache":
        shutil.rmtree(out, ignore_errors=True)
        return measure(base, env=env)
    if name == "agenteval_cached":
        if not (out / "cache.sqlite").exists():
            measure(base, env=env)  # fill the cache first
        return measure(base, env=env)
    raise ValueError(name)


SYSTEMS = ["bare_loop", "agenteval_nocache", "agenteval_cache", "agenteval_cached"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--marginal-n", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    args = ap.parse_args(argv)
    systems = args.systems.split(",")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="agenteval-overhead-") as tmp:
        work = Path(tmp)
        suites = {n: write_suite(work / f"suite{n}", n) for n in (args.n, args.marginal_n)}
        measure([*agenteval_cmd(), "validate", str(suites[args.n])], env=bench_env())  # warm bytecode caches
        best: dict[tuple[str, int], Measure] = {}
        for _ in range(max(1, args.repeats)):
            for n, suite in suites.items():
                for name in systems:
                    if name == "agenteval_cached":
                        shutil.rmtree(work / f"n{n}" / f"out-{name}", ignore_errors=True)
                    m = run_system(name, suite, work / f"n{n}")
                    key = (name, n)
                    if key not in best or m.cpu_s < best[key].cpu_s:
                        best[key] = m
        print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        n1, n2 = args.n, args.marginal_n
        floor = None
        print()
        print(f"| system | CPU s at {n1} | CPU s at {n2} | marginal CPU ms/sample | marginal wall ms/sample "
              f"| x bare loop |")
        print("|---|---|---|---|---|---|")
        for name in systems:
            a, b = best[(name, n1)], best[(name, n2)]
            cpu = (b.cpu_s - a.cpu_s) / (n2 - n1) * 1000
            wall = (b.wall_s - a.wall_s) / (n2 - n1) * 1000
            if name == "bare_loop":
                floor = cpu
            ratio = f"{cpu / floor:.1f}" if floor else "-"
            print(f"| {name} | {a.cpu_s:.2f} | {b.cpu_s:.2f} | {cpu:.3f} | {wall:.3f} | {ratio} |")
        worst = max(((best[(s, n2)].cpu_s - best[(s, n1)].cpu_s) / (n2 - n1) * 1000)
                    for s in systems if s.startswith("agenteval"))
        print(f"\ngoal: agenteval marginal CPU <= 0.5 ms/sample: worst {worst:.3f} ms -> "
              f"{'MET' if worst <= 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
