"""Cached re-run: `agenteval run` of a 10,000-sample suite, first against a 50 ms backend, then again.

    .venv/bin/python bench/cache_rerun.py [--n 10000] [--latency-ms 50] [--concurrency 50 8]
                                          [--server]

The first run fills the response cache (`<results>/cache.sqlite`); the second, the same command, takes
every answer from it. Both are whole `agenteval run` processes (interpreter start, imports, loading
the suite, the run, the summary), measured by wall time and CPU (user + sys). The 50 ms backend is
`stub:echo -B latency_ms=50` (an `asyncio.sleep` per call); with `--server` it is bench/mock_server.py
(127.0.0.1, bounded lifetime) behind the `openai:` backend, where that backend is installed.

Printed per concurrency: the physical limit of the first run (N x latency / concurrency), both runs'
wall and CPU, and the speed-up of the re-run (goal >= 20x). It also checks that the re-run marked
every result cached and that its metrics equal the first run's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from overhead import Measure, agenteval_cmd, bench_env, measure, write_suite  # noqa: E402


def latest_run(root: Path, before: set[Path]) -> Path:
    new = [p for p in (root / "runs").iterdir() if p not in before]
    if len(new) != 1:
        raise SystemExit(f"expected one new run under {root / 'runs'}, found {len(new)}")
    return new[0]


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "mock_server.py"), "--latency-ms", str(latency_ms),
                             "--max-lifetime-s", "900", "--parent-pid", str(os.getpid())],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"mock server did not start: {line!r}")
    return proc, line.split()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[50, 8],
                    help="one pair of runs per value (50: the issue's setting; 8: the CLI default)")
    ap.add_argument("--server", action="store_true", help="bench/mock_server.py + the openai: backend")
    args = ap.parse_args(argv)
    env = bench_env()
    server: subprocess.Popen[str] | None = None
    if args.server:
        server, base = start_server(args.latency_ms)
        backend = ["--backend", "openai:mock-model", "-B", f"api_base={base}", "-B", "api_key=bench"]
        what = f"openai: backend -> bench/mock_server.py at {args.latency_ms:g} ms"
    else:
        backend = ["--backend", "stub:echo", "-B", f"latency_ms={args.latency_ms:g}"]
        what = f"stub:echo -B latency_ms={args.latency_ms:g}"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n}, backend {what}")
    print(f"load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[tuple[int, float, Measure, Measure, bool]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="agenteval-cache-") as tmp:
            suite = write_suite(Path(tmp) / "suite", args.n)
            measure([*agenteval_cmd(), "validate", str(suite)], env=env)  # warm the bytecode cache
            for c in args.concurrency:
                root = Path(tmp) / f"results-c{c}"
                cmd = [*agenteval_cmd(), "run", str(suite), *backend, "--concurrency", str(c), "--no-progress",
                       "--out", str(root)]
                first = measure(cmd, env=env)
                first_dir = latest_run(root, set())
                again = measure(cmd, env=env)
                second_dir = latest_run(root, {first_dir})
                s1 = json.loads((first_dir / "summary.json").read_text())
                s2 = json.loads((second_dir / "summary.json").read_text())
                ok = (s2["n_cached"] == args.n and s1["n_cached"] == 0 and s1["metrics"] == s2["metrics"])
                rows.append((c, args.n * args.latency_ms / c / 1000, first, again, ok))
    finally:
        if server is not None:
            server.kill()
            server.wait()
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| concurrency | physical limit s | first run wall s | first run CPU s | cached re-run wall s "
          "| re-run CPU s | speed-up (wall) | all cached, same metrics |")
    print("|---|---|---|---|---|---|---|---|")
    for c, limit, first, again, ok in rows:
        print(f"| {c} | {limit:.1f} | {first.wall_s:.2f} | {first.cpu_s:.2f} | {again.wall_s:.2f} | "
              f"{again.cpu_s:.2f} | {first.wall_s / again.wall_s:.1f}x | {'yes' if ok else 'NO'} |")
    print()
    for c, _, first, again, _ in rows:
        ratio = first.wall_s / again.wall_s
        print(f"goal: cached re-run >= 20x faster at concurrency {c}: {ratio:.1f}x -> "
              f"{'MET' if ratio >= 20 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
