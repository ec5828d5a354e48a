"""The shipped CI example runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_example_passes_offline(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "pytest", "examples/ci", "-q", "-p", "no:cacheprovider",
                        "--agenteval-backend=stub:golden", f"--agenteval-out={tmp_path}",
                        f"--junitxml={tmp_path / 'junit.xml'}"], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed" in p.stdout
    p = subprocess.run([sys.executable, "-m", "pytest", "examples/ci", "-q", "-p", "no:cacheprovider",
                        "--agenteval-backend=stub:echo", f"--agenteval-out={tmp_path}"], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "exact_match = 0.0000 < min 1" in p.stdout
