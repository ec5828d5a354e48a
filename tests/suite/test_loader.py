"""Suite loading: formats, field mapping, hashes, and errors that name file:line:field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agenteval.errors import ConfigError
from agenteval.suite import check_suite, load_suite, render_messages

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("name", ["qa.yaml", "structured.yaml", "chat.yaml"])
def test_shipped_example_suites_load_and_check(name: str) -> None:
    suite = load_suite(REPO / "suites" / name)
    check_suite(suite)
    assert suite.samples and len({s.id for s in suite.samples}) == len(suite.samples)


def test_inline_and_jsonl_samples_with_field_mapping(tmp_path: Path) -> None:
    write(tmp_path, "data/rows.jsonl", '{"q": "2+2?", "ans": "4", "topic": "math"}\n\n'
                                       '{"q": "3+3?", "ans": ["6", "six"], "topic": "math"}\n')
    p = write(tmp_path, "s.yaml", """
name: mixed
prompt: "Q: {{ q }} ({{ topic }})"
samples:
  - id: inline
    vars: {q: "1+1?", topic: math}
    expected: "2"
  - file: data/rows.jsonl
    fields: {expected: ans}
    tags: [rows]
""")
    suite = load_suite(p)
    assert next(s.id for s in suite.samples) == "inline"
    row2 = suite.samples[2]
    assert row2.acceptable == ["6", "six"]
    assert row2.vars == {"q": "3+3?", "topic": "math"}
    assert row2.tags == ["rows"]
    assert row2.origin.endswith("rows.jsonl:3")  # blank line 2 skipped, line numbers kept
    msgs = render_messages(suite, row2)
    assert msgs[-1].content == "Q: 3+3? (math)"


def test_csv_parquet_and_json_sources(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with (tmp_path / "d.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer"])
        w.writerow(["Capital of Italy?", "Rome"])
    pq.write_table(pa.table({"question": ["Capital of Spain?"], "answer": ["Madrid"]}), tmp_path / "d.parquet")
    write(tmp_path, "d.json", json.dumps([{"question": "Capital of Peru?", "answer": "Lima"}]))
    p = write(tmp_path, "s.yaml", """
name: files
samples:
  - {file: d.csv, input_field: question, expected_field: answer}
  - {file: d.parquet, input_field: question, expected_field: answer}
  - {file: d.json, input_field: question, expected_field: answer}
""")
    suite = load_suite(p)
    assert [(s.input, s.expected) for s in suite.samples] == [
        ("Capital of Italy?", "Rome"), ("Capital of Spain?", "Madrid"), ("Capital of Peru?", "Lima")]
    assert suite.samples[0].origin.endswith("d.csv:2")


def test_local_hf_dataset_saved_to_disk(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_dict({"question": ["Capital of Chile?"], "answer": ["Santiago"]}).save_to_disk(
        str(tmp_path / "ds"))
    p = write(tmp_path, "s.yaml", """
name: hf
samples:
  - {dataset: ds, input_field: question, expected_field: answer}
""")
    suite = load_suite(p)
    assert suite.samples[0].input == "Capital of Chile?"
    assert suite.samples[0].expected == "Santiago"


def test_hashes_are_stable_and_sensitive(tmp_path: Path) -> None:
    text = "name: h\nsamples:\n  - {id: a, input: hi, expected: x}\n  - {id: b, input: yo, expected: y}\n"
    s1 = load_suite(write(tmp_path, "a.yaml", text))
    s2 = load_suite(write(tmp_path, "b.yaml", text.replace("# nothing", "")))
    assert s1.content_hash == s2.content_hash
    assert [s.hash for s in s1.samples] == [s.hash for s in s2.samples]
    s3 = load_suite(write(tmp_path, "c.yaml", text.replace("expected: y", "expected: z")))
    assert s3.samples[0].hash == s1.samples[0].hash
    assert s3.samples[1].hash != s1.samples[1].hash
    assert s3.content_hash != s1.content_hash
    # tags do not change what a sample asks, so they leave its hash alone
    s4 = load_suite(write(tmp_path, "d.yaml", text.replace("expected: x}", "expected: x, tags: [t]}")))
    assert s4.samples[0].hash == s1.samples[0].hash


def test_missing_id_defaults_to_content_hash_prefix(tmp_path: Path) -> None:
    s = load_suite(write(tmp_path, "s.yaml", "name: n\nsamples:\n  - {input: hi}\n"))
    assert s.samples[0].id == s.samples[0].hash[:12]


def _err(tmp_path: Path, text: str, name: str = "bad.yaml") -> ConfigError:
    p = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as ei:
        s = load_suite(p)
        check_suite(s)
    return ei.value


def test_wrong_type_names_file_line_and_field(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nsamples:\n  - id: a\n    input: hi\n  - id: b\n    input: [1, 2]\n")
    assert e.file and e.file.endswith("bad.yaml")
    assert e.line == 6
    assert e.field == "samples[1].input"
    assert "valid string" in str(e)


def test_missing_required_field(tmp_path: Path) -> None:
    e = _err(tmp_path, "version: 2\nsamples: []\n")
    assert e.field == "name" and "required" in (e.hint or "")


def test_unknown_field_suggests_the_right_one(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nsamples:\n  - id: a\n    inputt: hi\n")
    assert e.line == 4
    assert "input" in (e.hint or "")


def test_bad_yaml_syntax_reports_line(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nsamples:\n  - id: a\n    input: [unclosed\n  - id: b\n")
    assert "bad YAML" in str(e) and e.line is not None and e.line >= 4


def test_bad_jsonl_line_reports_data_file_line(tmp_path: Path) -> None:
    write(tmp_path, "rows.jsonl", '{"input": "ok"}\n{"input": "broken"\n')
    e = _err(tmp_path, "name: t\nsamples:\n  - file: rows.jsonl\n")
    assert e.file and e.file.endswith("rows.jsonl") and e.line == 2


def test_bad_row_value_reports_data_file_line(tmp_path: Path) -> None:
    write(tmp_path, "rows.jsonl", '{"input": "ok"}\n{"input": 5}\n')
    e = _err(tmp_path, "name: t\nsamples:\n  - file: rows.jsonl\n")
    assert e.file and e.file.endswith("rows.jsonl") and e.line == 2 and e.field == "input"


def test_missing_mapped_column(tmp_path: Path) -> None:
    write(tmp_path, "rows.csv", "q,a\nhi,there\n")
    e = _err(tmp_path, "name: t\nsamples:\n  - {file: rows.csv, input_field: question}\n")
    assert e.line == 2 and "question" in str(e)


def test_missing_data_file(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nsamples:\n  - file: nowhere.jsonl\n")
    assert e.line == 3 and "not found" in str(e)


def test_duplicate_ids(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nsamples:\n  - {id: a, input: x}\n  - {id: a, input: y}\n")
    assert "duplicate sample id 'a'" in str(e) and e.line == 4


def test_unknown_metric_with_hint(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nmetrics:\n  - exact_match\n  - exact_mach\nsamples:\n  - {input: x}\n")
    assert "unknown metric 'exact_mach'" in str(e) and e.line == 4
    assert "exact_match" in (e.hint or "")


def test_bad_metric_argument(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nmetrics:\n  - fuzzy_match: {threshold: lots}\nsamples:\n  - {input: x}\n")
    assert e.line == 3 and "threshold" in (e.field or "")


def test_threshold_for_unknown_metric(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nmetrics: [exact_match]\nthresholds: {exact: 0.5}\nsamples: []\n")
    assert e.line == 3 and "exact_match" in (e.hint or "")


def test_undefined_template_variable(tmp_path: Path) -> None:
    e = _err(tmp_path, 'name: t\nprompt: "{{ question }}"\nsamples:\n  - id: a\n    vars: {q: x}\n')
    assert e.line == 4 and "question" in str(e)


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    e = _err(tmp_path, "name: t\nprompt: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
                       "samples:\n  - {id: a, vars: {}}\n")
    assert "unsafe" in str(e) or "template" in str(e)


def test_json_suite(tmp_path: Path) -> None:
    p = write(tmp_path, "s.json", json.dumps({"name": "j", "samples": [{"id": "a", "input": "hi"}]}))
    assert load_suite(p).samples[0].input == "hi"


def test_task_preset_supplies_metrics_and_thresholds(tmp_path: Path) -> None:
    rows = "samples:\n  - {input: q, expected: [a]}\n"
    s = load_suite(write(tmp_path, "s.yaml", "name: t\ntask: recommendation\n" + rows))
    assert s.task == "ranking"
    assert [m.id for m in s.metrics][:2] == ["ndcg@10", "mrr"]
    assert s.thresholds["ndcg@10"].min == 0.6
    s2 = load_suite(write(tmp_path, "s2.yaml", "name: t\ntask: ranking\nadd_metrics: [exact_match]\n"
                          "remove_metrics: [mrr]\nthresholds: {ndcg@10: 0.9}\n" + rows))
    ids = [m.id for m in s2.metrics]
    assert "mrr" not in ids and ids[-1] == "exact_match" and s2.thresholds["ndcg@10"].min == 0.9
    e = _err(tmp_path, "name: t\ntask: ranking\nremove_metrics: [mmr]\nsamples: []\n")
    assert e.line == 3 and "mrr" in (e.hint or "")
    plain = load_suite(write(tmp_path, "s3.yaml", "name: t\nsamples:\n  - {input: q}\n"))
    assert [m.id for m in plain.metrics] == ["exact_match"]
