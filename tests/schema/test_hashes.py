"""`SuiteRef.sample_hashes` as a view of a suite's samples: the same mapping as the dict, none built."""

from __future__ import annotations

import json
from pathlib import Path

from agenteval.schema import SuiteRef
from agenteval.schema.hashes import SampleHashes
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]


def test_a_view_reads_like_the_dict_and_serialises_as_one() -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    plain = {s.id: s.hash for s in suite.samples}
    view = SampleHashes.of_samples(suite.samples)
    assert repr(view).endswith("view)") and len(view) == len(plain)
    assert list(view) == list(plain) and list(view.items()) == list(plain.items())
    assert view == plain and plain == view and view == SampleHashes(plain)
    assert view != {**plain, "capital-france": "0" * 64}
    ref = SuiteRef(name=suite.name, version=suite.version, path=suite.path, content_hash=suite.content_hash,
                   n_samples=len(suite.samples), sample_hashes=view)
    assert ref.sample_hashes is view  # taken as it is, not copied into a dict
    dumped = json.loads(ref.model_dump_json())
    assert dumped["sample_hashes"] == plain and list(dumped["sample_hashes"]) == list(plain)
    again = SuiteRef.model_validate_json(ref.model_dump_json())
    assert again == ref and again.sample_hashes == plain
    assert view["water-formula"] == plain["water-formula"] and "author-hamlet" in view
    assert repr(view).endswith("dict)")  # a lookup builds the dict once


def test_an_empty_mapping_and_the_json_schema() -> None:
    assert SampleHashes() == {} and len(SampleHashes()) == 0
    schema = SuiteRef.model_json_schema()["properties"]["sample_hashes"]
    assert schema["type"] == "object" and schema["additionalProperties"] == {"type": "string"}
