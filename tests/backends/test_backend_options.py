"""`-B key=value`: the value is read as a YAML scalar. Plain integers, words and URLs skip importing
YAML (start-up time); they must read exactly as YAML reads them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from agenteval.backends.spec import parse_option
from agenteval.errors import ConfigError

VALUES = [
    "0", "50", "-3", "007", "1_000", "0x1F", "1e3", "1.5", ".5", "-0", "+1", "190:20:30",
    "true", "True", "TRUE", "false", "yes", "No", "on", "OFF", "y", "n", "null", "Null", "~", "",
    "gpt-4o-mini", "openai/gpt-4o-mini", "mock-model", "bench", "sk-abc_123", "a.b.c", "x-", "Nan", "inf",
    ".nan", ".inf", "-.inf",
    "http://127.0.0.1:8000/v1", "https://example.invalid/v1?x=1&y=2", "http://h:1/p#frag",
    "2024-01-01", "[1, 2]", "{a: 1}", "'quoted'", "a b", "a: b", "# comment", "@at", "`tick`", "*alias",
    "!tag x", "- item", "? q", "|", ">", "%x", "a,b", "ÿes",
]


@pytest.mark.parametrize("raw", VALUES)
def test_values_read_as_yaml_reads_them(raw: str) -> None:
    try:
        expected = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        expected = raw
    if not isinstance(expected, (str, int, float, bool, list, dict)) and expected is not None:
        expected = raw  # e.g. a date: kept as written
    key, value = parse_option(f"k={raw}")
    assert key == "k"
    assert value == expected or (value != value and expected != expected)  # NaN equals NaN here
    assert type(value) is type(expected)


def test_bad_options_are_usage_errors() -> None:
    for text in ("novalue", "=3", " =x"):
        with pytest.raises(ConfigError, match="is not key=value"):
            parse_option(text)


def test_plain_values_do_not_import_yaml() -> None:
    code = ("import sys; from agenteval.backends.spec import parse_option; "
            "print([parse_option(o) for o in ('latency_ms=50', 'api_key=bench', "
            "'api_base=http://127.0.0.1:8000/v1')], 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ("[('latency_ms', 50), ('api_key', 'bench'), "
                                  "('api_base', 'http://127.0.0.1:8000/v1')] False")
