"""Start-up: how long `agenteval --help`, `validate` and a 10-sample stub run take, and what they import.

    .venv/bin/python bench/startup.py [--repeats 7]

Each command runs `--repeats` times in a fresh child process (interleaved, lowest and median wall time
and CPU kept), next to the floor `python -c pass` and `python -c "import agenteval"`:

  agenteval --help
  agenteval validate SUITE          (a 10-sample suite with a system prompt and a Jinja prompt)
  agenteval run SUITE --backend stub:echo --no-progress   (into a fresh results folder each time)

Then each agenteval command runs once more in an interpreter that reports which of the heavy modules
(litellm, torch, vertexai, google.cloud.aiplatform, sentence_transformers, datasets) it imported.
Goals: none imported by --help and validate; the 10-sample stub run ends in < 1.5 s wall, interpreter
start included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from overhead import Measure, agenteval_cmd, bench_env, measure, write_suite  # noqa: E402

HEAVY = ["litellm", "torch", "vertexai", "google.cloud.aiplatform", "sentence_transformers", "datasets"]


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    code = ("import sys, json\nfrom agenteval.cli.main import main\nrc = main(sys.argv[1:])\n"
            f"print('HEAVY=' + json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\nsys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("HEAVY="):
            return list(json.loads(line[len("HEAVY="):]))
    raise SystemExit(f"could not run {args}: {out.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    env = bench_env()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="agenteval-startup-") as tmp:
        suite = write_suite(Path(tmp) / "suite", 10)
        ae = agenteval_cmd()
        commands: dict[str, list[str] | None] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import agenteval'": [sys.executable, "-c", "import agenteval"],
            "agenteval --help": [*ae, "--help"],
            "agenteval validate (10 samples)": [*ae, "validate", str(suite)],
            "agenteval run stub:echo (10 samples)": None,  # a fresh results folder per run
        }
        measure([*ae, "validate", str(suite)], env=env)  # warm the bytecode caches
        runs: dict[str, list[Measure]] = {name: [] for name in commands}
        for k in range(max(1, args.repeats)):
            for name, cmd in commands.items():
                if cmd is None:
                    cmd = [*ae, "run", str(suite), "--backend", "stub:echo", "--no-progress", "--out",
                           str(Path(tmp) / f"results{k}")]
                runs[name].append(measure(cmd, env=env))
        heavy = {
            "agenteval --help": heavy_imports(["--help"], env),
            "agenteval validate (10 samples)": heavy_imports(["validate", str(suite)], env),
            "agenteval run stub:echo (10 samples)": heavy_imports(
                ["run", str(suite), "--backend", "stub:echo", "--no-progress", "--out", str(Path(tmp) / "rh")],
                env),
        }
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    floor = min(m.wall_s for m in runs["python -c pass"])
    print("| command | wall s (min) | wall s (median) | CPU s (min) | min wall - python -c pass "
          "| heavy modules imported |")
    print("|---|---|---|---|---|---|")
    for name, ms in runs.items():
        walls = [m.wall_s for m in ms]
        h = heavy.get(name)
        print(f"| {name} | {min(walls):.3f} | {statistics.median(walls):.3f} | {min(m.cpu_s for m in ms):.3f} "
              f"| {min(walls) - floor:.3f} | {'-' if h is None else (', '.join(h) or 'none')} |")
    stub = runs["agenteval run stub:echo (10 samples)"]
    best, med = min(m.wall_s for m in stub), statistics.median(m.wall_s for m in stub)
    lean = not heavy["agenteval --help"] and not heavy["agenteval validate (10 samples)"]
    print(f"\ngoal: --help and validate import no heavy module -> {'MET' if lean else 'MISSED'}")
    print(f"goal: 10-sample stub run < 1.5 s wall: min {best:.2f} s, median {med:.2f} s -> "
          f"{'MET' if med < 1.5 else ('MET at best, not at median' if best < 1.5 else 'MISSED')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
