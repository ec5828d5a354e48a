"""Suite files: loading (YAML/JSON + JSONL/CSV/Parquet/HF datasets), validation, templating."""

from .check import check_suite
from .loader import load_suite, sample_hash, suite_from_data
from .templating import render_messages, user_turns

__all__ = ["check_suite", "load_suite", "render_messages", "sample_hash", "suite_from_data", "user_turns"]
