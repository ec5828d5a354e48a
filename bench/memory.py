"""Memory: peak RSS of `agenteval run` at 10,000 and at 100,000 samples.

    .venv/bin/python bench/memory.py [--sizes 10000 100000] [--no-cache]

For each size, three fresh child processes, each measured by its peak RSS (ru_maxrss from wait4):

  imports    python -c "import agenteval.cli.main, agenteval.runner"   (the same at every size)
  suite      load_suite(SUITE) and nothing else: the suite held in memory
  run        agenteval run SUITE --backend stub:echo --no-progress   (cache on, results written)

and prints the run's peak, the suite's, and what the run adds on top of the suite, with the ratio of
the largest size to the smallest for each. Goal: the run's peak at 100,000 within 1.5x of its peak at
10,000. Results stream to disk and the summary is computed from the file in small memory, so what
grows with N is the loaded suite (every sample as a model) and the manifest's sample hashes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from overhead import Measure, agenteval_cmd, bench_env, measure, write_suite  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--no-cache", action="store_true", help="run with --no-cache")
    args = ap.parse_args(argv)
    env = bench_env()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: dict[int, tuple[Measure, Measure, Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="agenteval-memory-") as tmp:
        for n in args.sizes:
            suite = write_suite(Path(tmp) / f"suite{n}", n)
            imports = measure([sys.executable, "-c", "import agenteval.cli.main, agenteval.runner"], env=env)
            loaded = measure([sys.executable, "-c", "import sys\nfrom agenteval.suite import load_suite\n"
                              "load_suite(sys.argv[1])", str(suite)], env=env)
            cmd = [*agenteval_cmd(), "run", str(suite), "--backend", "stub:echo", "--no-progress",
                   "--out", str(Path(tmp) / f"results{n}")]
            ran = measure([*cmd, "--no-cache"] if args.no_cache else cmd, env=env)
            rows[n] = (imports, loaded, ran)
            print(f"  N={n}: run {ran.wall_s:.1f} s wall, {ran.cpu_s:.1f} s CPU")
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| samples | imports MB | suite loaded MB | run peak MB | run - suite MB | run peak per 1k samples MB |")
    print("|---|---|---|---|---|---|")
    for n, (imp, loaded, ran) in rows.items():
        print(f"| {n} | {imp.maxrss_mb:.0f} | {loaded.maxrss_mb:.0f} | {ran.maxrss_mb:.0f} | "
              f"{ran.maxrss_mb - loaded.maxrss_mb:.0f} | {ran.maxrss_mb / n * 1000:.2f} |")
    lo, hi = min(rows), max(rows)
    (_, l_lo, r_lo), (_, l_hi, r_hi) = rows[lo], rows[hi]
    ratio = r_hi.maxrss_mb / r_lo.maxrss_mb
    extra_lo, extra_hi = r_lo.maxrss_mb - l_lo.maxrss_mb, r_hi.maxrss_mb - l_hi.maxrss_mb
    print(f"\nratio {hi} / {lo}: run peak {ratio:.2f}x, suite loaded {l_hi.maxrss_mb / l_lo.maxrss_mb:.2f}x, "
          f"run beyond the suite {extra_hi:.0f} MB vs {extra_lo:.0f} MB")
    print(f"goal: run peak at {hi} within 1.5x of {lo} -> {'MET' if ratio <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
