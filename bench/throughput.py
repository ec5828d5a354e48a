"""Throughput against a 50 ms OpenAI-compatible server at concurrency 50: agenteval vs raw clients.

    .venv/bin/python bench/throughput.py [--n 2000] [--marginal-n 10000] [--concurrency 50]
                                         [--latency-ms 50] [--systems a,b,...] [--repeats 1]

Starts bench/mock_server.py (127.0.0.1, bounded lifetime) and runs every system in a fresh child
process, one after another, against it with the same prompts:

  aiohttp_raw        raw aiohttp ClientSession, one pooled session (the floor)
  httpx_raw          raw httpx.AsyncClient (http2 off, pool sized to the concurrency)
  openai_sdk         raw openai.AsyncOpenAI(max_retries=0).chat.completions.create
  litellm_raw        raw litellm.acompletion(model="openai/...", num_retries=0, max_retries=0)
  openai_backend     agenteval's `openai:` backend called directly (no runner): the backend's own cost
  litellm_backend    agenteval's `litellm:` backend called directly (no runner)
  agenteval_openai   agenteval.runner.run_suite with `openai:`: exact_match, results written, cache off
  agenteval_litellm  the same with `litellm:openai/...`

Per system: wall ms/sample, the ratio to the physical limit (latency / concurrency), CPU ms/sample of
the measured section (time.process_time of the child: imports excluded), the mock server's CPU per
request, start-up (spawn to ready: imports, client, suite), peak RSS, and whether scores were exact
(the suite's expected answers are right for 9 samples in 10, so exact_match must average exactly
0.9). With `--marginal-n`, each system also runs at that N and the marginal cost per sample between
the two sizes is printed. The machine is shared: the load average is printed before and after; with
`--repeats R` the systems run in R interleaved rounds and each keeps its fastest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # mock_server
sys.path.insert(0, str(HERE.parent))  # agenteval from the working tree

from mock_server import MODEL, mock_answer  # noqa: E402

SYSTEMS = ["aiohttp_raw", "httpx_raw", "openai_sdk", "litellm_raw", "openai_backend", "litellm_backend",
           "agenteval_openai", "agenteval_litellm"]
SYSTEM_PROMPT = "Answer with the code only."


def question(i: int) -> str:
    return f"Question {i}: what is the code for item {i * 7919 % 100_003}?"


def prompts(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question(i)}]
            for i in range(n)]


# -- children: one system, measured in its own process ------------------------------------------


async def _pump(n: int, concurrency: int, one: Callable[[int], Awaitable[str]]) -> int:
    """Call `one(i)` for i < n with `concurrency` workers; the number of exact answers."""
    it = iter(range(n))
    right = 0

    async def worker() -> None:
        nonlocal right
        for i in it:
            if await one(i) == mock_answer(question(i)):
                right += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return right


async def child_aiohttp(base: str, n: int, c: int, ready: Callable[[], None]) -> dict[str, Any]:
    import aiohttp

    msgs = prompts(n)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c),
                                     headers={"Content-Type": "application/json"}) as session:
        ready()

        async def one(i: int) -> str:
            body = json.dumps({"model": MODEL, "messages": msgs[i]}).encode()
            async with session.post(f"{base}/chat/completions", data=body) as r:
                return str(json.loads(await r.read())["choices"][0]["message"]["content"])

        return {"exact": await _pump(n, c, one) == n}


async def child_httpx(base: str, n: int, c: int, ready: Callable[[], None]) -> dict[str, Any]:
    import httpx

    msgs = prompts(n)
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(http2=False, limits=limits, headers={"Content-Type": "application/json"}) as cl:
        ready()

        async def one(i: int) -> str:
            body = json.dumps({"model": MODEL, "messages": msgs[i]}).encode()
            r = await cl.post(f"{base}/chat/completions", content=body)
            return str(json.loads(r.content)["choices"][0]["message"]["content"])

        return {"exact": await _pump(n, c, one) == n}


async def child_openai_sdk(base: str, n: int, c: int, ready: Callable[[], None]) -> dict[str, Any]:
    from openai import AsyncOpenAI

    msgs = prompts(n)
    client = AsyncOpenAI(base_url=base, api_key="sk-bench", max_retries=0)
    ready()

    async def one(i: int) -> str:
        resp = await client.chat.completions.create(model=MODEL, messages=msgs[i])  # type: ignore[arg-type]
        return resp.choices[0].message.content or ""

    try:
        return {"exact": await _pump(n, c, one) == n}
    finally:
        await client.close()


def _quiet_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from agenteval.backends.litellm_backend import _litellm

    return _litellm()  # the same import and settings as agenteval's litellm backend


async def child_litellm(base: str, n: int, c: int, ready: Callable[[], None]) -> dict[str, Any]:
    litellm = _quiet_litellm()
    msgs = prompts(n)
    ready()

    async def one(i: int) -> str:
        resp = await litellm.acompletion(model=f"openai/{MODEL}", messages=msgs[i], api_base=base,
                                         api_key="sk-bench", num_retries=0, max_retries=0, timeout=60)
        return str(resp.choices[0].message.content or "")

    return {"exact": await _pump(n, c, one) == n}


async def child_backend(base: str, n: int, c: int, ready: Callable[[], None], kind: str) -> dict[str, Any]:
    from agenteval.backends.base import BackendRequest
    from agenteval.schema import Message

    requests = [BackendRequest(messages=[Message(role="system", content=SYSTEM_PROMPT),
                                         Message(role="user", content=question(i))]) for i in range(n)]
    if kind == "litellm":
        from agenteval.backends.litellm_backend import create as create_litellm

        _quiet_litellm()
        backend = create_litellm(f"openai/{MODEL}", {"api_base": base, "api_key": "sk-bench"})
    else:
        from agenteval.backends.openai_compat import create

        backend = create(MODEL, {"api_base": base, "api_key": "sk-bench"})
    ready()

    async def one(i: int) -> str:
        return (await backend.call(requests[i])).output

    try:
        return {"exact": await _pump(n, c, one) == n}
    finally:
        await backend.aclose()


def bench_suite(n: int) -> dict[str, Any]:
    """A suite whose expected answers are right for 9 samples in 10 (the 10th expects a wrong code)."""
    return {
        "name": "bench-throughput", "version": "1", "task": "generation",
        "system": SYSTEM_PROMPT, "prompt": "{{ q }}", "metrics": ["exact_match"],
        "samples": [{"id": f"s{i}", "vars": {"q": question(i)},
                     "expected": mock_answer(question(i)) if i % 10 != 9 else "wrong"} for i in range(n)],
    }


async def child_agenteval(base: str, n: int, c: int, ready: Callable[[], None], spec: str) -> dict[str, Any]:
    from agenteval import registry
    from agenteval.runner import RunOptions, run_suite
    from agenteval.suite import suite_from_data

    if spec.startswith("litellm:"):
        _quiet_litellm()  # imported before the clock starts, like the raw litellm row
    if "openai" not in registry.backends:  # until the entry point is installed
        from agenteval.backends.openai_compat import create

        registry.backends.register("openai", create)
    with tempfile.TemporaryDirectory(prefix="agenteval-bench-") as tmp:
        suite = suite_from_data(bench_suite(n), Path(tmp) / "bench.yaml")
        opts = RunOptions(results_root=Path(tmp) / "results", backend_spec=spec,
                          backend_options={"api_base": base, "api_key": "sk-bench"},
                          concurrency=c, use_cache=False, progress=False)
        ready()
        outcome = await run_suite(suite, opts)
        s = outcome.summary
        em = s.metrics["exact_match"]
        wrong = n // 10
        exact = (s.n_errors == 0 and em.n == n and em.n_unmeasured == 0 and em.mean == (n - wrong) / n
                 and outcome.run_dir.samples_path.stat().st_size > 0)
        return {"exact": exact, "mean": em.mean, "errors": s.n_errors}


CHILDREN: dict[str, Callable[[str, int, int, Callable[[], None]], Awaitable[dict[str, Any]]]] = {
    "aiohttp_raw": child_aiohttp,
    "httpx_raw": child_httpx,
    "openai_sdk": child_openai_sdk,
    "litellm_raw": child_litellm,
    "openai_backend": lambda b, n, c, r: child_backend(b, n, c, r, "openai"),
    "litellm_backend": lambda b, n, c, r: child_backend(b, n, c, r, "litellm"),
    "agenteval_openai": lambda b, n, c, r: child_agenteval(b, n, c, r, f"openai:{MODEL}"),
    "agenteval_litellm": lambda b, n, c, r: child_agenteval(b, n, c, r, f"litellm:openai/{MODEL}"),
}


def child_main(args: argparse.Namespace) -> int:
    marks: dict[str, float] = {}

    def ready() -> None:  # the measured section starts here
        marks["ready"] = time.time()
        marks["wall0"] = time.perf_counter()
        marks["cpu0"] = time.process_time()

    async def go() -> dict[str, Any]:
        info = await CHILDREN[args.child](args.base_url, args.n, args.concurrency, ready)
        marks["wall1"] = time.perf_counter()
        marks["cpu1"] = time.process_time()
        return info

    info = asyncio.run(go())
    info.update(wall_s=marks["wall1"] - marks["wall0"], cpu_s=marks["cpu1"] - marks["cpu0"],
                startup_s=marks["ready"] - args.spawned_at,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(info), flush=True)
    return 0


# -- the parent: server, children, table ---------------------------------------------------------


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(latency_ms: float, lifetime_s: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "mock_server.py"), "--latency-ms", str(latency_ms),
                             "--max-lifetime-s", str(lifetime_s), "--parent-pid", str(os.getpid())],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        proc.kill()
        raise SystemExit(f"mock server did not start: {line}")
    return proc, line[1]


def run_child(system: str, base: str, n: int, c: int, server_pid: int, timeout_s: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", system, "--base-url", base, "--n", str(n),
           "--concurrency", str(c)]
    s0 = _proc_cpu_s(server_pid)
    spawned = time.time()
    proc = subprocess.Popen([*cmd, "--spawned-at", repr(spawned)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"failed": f"timed out after {timeout_s:.0f} s"}
    server_cpu = _proc_cpu_s(server_pid) - s0
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        return {"failed": (err.strip().splitlines() or ["no output"])[-1][:200]}
    info: dict[str, Any] = json.loads(line[len("RESULT "):])
    info["server_cpu_s"] = server_cpu
    return info


def fmt_row(system: str, n: int, r: dict[str, Any], limit_ms: float) -> str:
    if "failed" in r:
        return f"| {system} | {n} | failed: {r['failed']} | | | | | | |"
    wall = r["wall_s"] * 1000 / n
    return (f"| {system} | {n} | {wall:.2f} | {wall / limit_ms:.2f}x ({100 * limit_ms / wall:.0f} %) | "
            f"{r['cpu_s'] * 1000 / n:.2f} | {r['server_cpu_s'] * 1000 / n:.2f} | {r['startup_s']:.1f} | "
            f"{r['peak_rss_mb']:.0f} MB | {'yes' if r.get('exact') else 'NO'} |")


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--marginal-n", type=int, default=0, help="also run at this N (e.g. 10000); 0: skip")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from {SYSTEMS}")
    p.add_argument("--repeats", type=int, default=1, help="runs per system; the fastest is kept")
    p.add_argument("--timeout-s", type=float, default=300.0, help="per child run")
    p.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--spawned-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child_main(args)

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        p.error(f"unknown systems {unknown}; choose from {SYSTEMS}")
    sizes = [args.n] + ([args.marginal_n] if args.marginal_n > args.n else [])
    runs = len(systems) * len(sizes) * args.repeats
    limit_ms = args.latency_ms / args.concurrency
    server, base = start_server(args.latency_ms, lifetime_s=runs * args.timeout_s + 60)
    print(f"# throughput: latency {args.latency_ms:.0f} ms, concurrency {args.concurrency}, physical limit "
          f"{limit_ms:.2f} ms/sample; {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
          f"load average before {os.getloadavg()[0]:.2f}")
    results: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for rnd in range(args.repeats):  # rounds interleave the systems, so load changes hit them all
            for n in sizes:
                for system in systems:
                    r = run_child(system, base, n, args.concurrency, server.pid, args.timeout_s)
                    print(f"round {rnd + 1}: " + fmt_row(system, n, r, limit_ms), file=sys.stderr, flush=True)
                    best = results.get((system, n))
                    if best is None or "failed" in best or ("failed" not in r and r["wall_s"] < best["wall_s"]):
                        results[(system, n)] = r
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"# load average after {os.getloadavg()[0]:.2f}\n")
    print("| system | N | wall ms/sample | x physical limit | CPU ms/sample | server CPU ms/req | start-up s "
          "| peak RSS | exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for system in systems:
            print(fmt_row(system, n, results[(system, n)], limit_ms))
    print_ratios(results, systems, sizes, limit_ms)
    return 0


def _per(r: dict[str, Any] | None, key: str, n: int) -> float | None:
    return None if r is None or "failed" in r else float(r[key]) * 1000 / n


def print_ratios(results: dict[tuple[str, int], dict[str, Any]], systems: list[str], sizes: list[int],
                 limit_ms: float) -> None:
    n = sizes[0]
    get = results.get
    print()
    floor = _per(get(("aiohttp_raw", n)), "wall_s", n)
    for system in systems:
        wall, cpu = _per(get((system, n)), "wall_s", n), _per(get((system, n)), "cpu_s", n)
        if wall is None or cpu is None:
            continue
        vs_floor = f", {wall / floor:.2f}x the raw aiohttp floor" if floor else ""
        print(f"- {system}: {wall / limit_ms:.2f}x the physical limit{vs_floor}")
    ae = get(("agenteval_openai", n))
    if ae is not None and "failed" not in ae:
        wall = ae["wall_s"] * 1000 / n
        ok = wall <= 1.25 * limit_ms and ae.get("exact")
        print(f"- goal `openai:` N={n} <= 1.25x the physical limit with exact scores: "
              f"{wall / limit_ms:.2f}x, exact={ae.get('exact')} -> {'MET' if ok else 'MISSED'}")
    for key, label in (("wall_s", "wall"), ("cpu_s", "CPU")):
        lit, raw = _per(get(("agenteval_litellm", n)), key, n), _per(get(("litellm_raw", n)), key, n)
        if lit is not None and raw is not None:
            extra = lit - raw
            verdict = f" -> {'MET' if extra <= 0.5 else 'MISSED'}" if key == "wall_s" else ""
            print(f"- litellm path on top of raw litellm ({label}): {extra:+.2f} ms/sample "
                  f"(goal <= 0.5){verdict}")
    if len(sizes) == 2:
        n1, n2 = sizes
        print(f"\nmarginal cost per sample between N={n1} and N={n2}:\n")
        print("| system | wall ms/sample | x physical limit | CPU ms/sample | peak RSS at N2 |")
        print("|---|---|---|---|---|")
        for system in systems:
            a, b = get((system, n1)), get((system, n2))
            if a is None or b is None or "failed" in a or "failed" in b:
                continue
            w = (b["wall_s"] - a["wall_s"]) * 1000 / (n2 - n1)
            c = (b["cpu_s"] - a["cpu_s"]) * 1000 / (n2 - n1)
            print(f"| {system} | {w:.2f} | {w / limit_ms:.2f}x | {c:.2f} | {b['peak_rss_mb']:.0f} MB |")


if __name__ == "__main__":
    sys.exit(main())
