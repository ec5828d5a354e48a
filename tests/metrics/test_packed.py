"""The packed encoder with the real bundled all-MiniLM-L6-v2: the vectors of `model.encode`, without
the padding; and `model.encode` kept for models it cannot reproduce."""

from __future__ import annotations

import numpy as np
import pytest

from agenteval.metrics.embedding import EmbeddingCache, Encoder, default_model_path, get_encoder
from agenteval.metrics.packed import PackedEncoder

TEXTS = [
    "The cat is sitting on the mat.",
    "yes",
    "A much longer answer that goes on for a while, listing several reasons why the train was late: "
    "snow on the tracks, a signal failure near the junction and a shortage of drivers on the morning shift.",
    "Paris",
    "Quarterly revenue grew by 12 percent, driven by subscriptions.",
    "¿Dónde está la estación? 駅はどこですか",
    "",
    " ".join(["word"] * 400),  # longer than the model's 256-token limit: truncated, alone in its row
]


@pytest.fixture(scope="module")
def model() -> object:
    return get_encoder(default_model_path(), "cpu").model


def test_packed_vectors_equal_model_encode(model: object) -> None:
    packed = PackedEncoder.build(model)
    assert packed is not None
    texts = TEXTS * 12  # 96 texts: two forward passes, many texts per row
    want = model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)  # type: ignore[attr-defined]
    got = packed.encode(texts)
    assert got.shape == want.shape == (96, 384) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # normalised like the model's output


def test_rows_hold_several_texts_and_never_split_one(model: object) -> None:
    packed = PackedEncoder.build(model)
    assert packed is not None
    lengths = [50, 30, 20, 14, 12, 10, 9, 8, 300]
    rows = packed._rows(lengths)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))  # each text once
    for row in rows:
        assert len(row) == 1 or sum(lengths[i] for i in row) <= packed.row_tokens
    assert len(rows) < len(lengths)  # short texts share rows


def test_a_text_encodes_the_same_whatever_it_is_packed_with(model: object) -> None:
    packed = PackedEncoder.build(model)
    assert packed is not None
    alone = packed.encode([TEXTS[0]])[0]
    for company in (TEXTS[1:3], TEXTS[3:7], TEXTS * 5):
        assert np.abs(packed.encode([*company, TEXTS[0]])[-1] - alone).max() < 1e-5


def test_the_encoder_packs_batches_and_not_single_texts(model: object) -> None:
    shared = get_encoder(default_model_path(), "cpu")
    packing = Encoder(shared.model, shared.key, cache=EmbeddingCache(maxsize=0))
    plain = Encoder(shared.model, shared.key, cache=EmbeddingCache(maxsize=0), pack=False)
    a, b = packing.encode(TEXTS), plain.encode(TEXTS)
    assert packing.stats.packed_calls == 1 and plain.stats.packed_calls == 0 and plain.packed is None
    assert packing.packed is not None
    assert max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True)) < 1e-5
    packing.encode(["one text"])
    assert packing.stats.packed_calls == 1 and packing.stats.encode_calls == 2


def test_a_model_it_cannot_reproduce_keeps_model_encode() -> None:
    from sentence_transformers import SentenceTransformer, models

    path = str(default_model_path())
    transformer = models.Transformer(path)
    cls_pooling = models.Pooling(384, pooling_mode="cls")
    model = SentenceTransformer(modules=[transformer, cls_pooling], device="cpu")
    assert PackedEncoder.build(model) is None
    enc = Encoder(model, "cls-pooling@cpu", cache=EmbeddingCache(maxsize=0))
    vectors = enc.encode(TEXTS[:3])
    assert enc.packed is None and enc.stats.packed_calls == 0 and len(vectors) == 3
