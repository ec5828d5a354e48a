"""Packed encoding: many short texts per sequence, no compute spent on padding.

`model.encode` pads every text of a mini-batch to the longest one. For the short answers evaluation
scores, in arrival order, that is a third or more of the compute, and small mini-batches (which pad
less) run the model's matrix products on too few rows to be efficient on a CPU. Packing puts several
texts side by side in one row (first fit, longest first, rows of about `row_tokens` tokens): each text
attends only to itself through a block-diagonal attention mask, and its positions restart at 0, so
every text is encoded exactly as alone, while the matrix products see all the real tokens of the
batch at once.

It applies to what it can reproduce: a sentence-transformers model made of a BERT-style Transformer
(absolute position embeddings, not a decoder), mean pooling and optional L2 normalisation.
`PackedEncoder.build` checks that structure and then compares its vectors with `model.encode` on
probe texts; any mismatch (another architecture, a library change) and it returns None, and the
caller keeps `model.encode`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["PackedEncoder"]

PROBE_TEXTS = [
    "Paris is the capital of France.",
    "ok",
    "The quarterly report shows revenue grew by twelve percent while costs stayed flat, "
    "which the board attributed to the new pricing model introduced in the spring.",
    "Ünïcödé and emoji 🙂 survive tokenisation.",
    "What is 2 + 2? It is 4.",
]
TOLERANCE = 1e-4
"""Largest difference from `model.encode` accepted on the probe texts (float32 sums in another order)."""


def _class_name(module: Any) -> str:
    return type(module).__name__


def _mean_pooling(module: Any) -> bool:
    cfg: dict[str, Any] = module.get_config_dict() if hasattr(module, "get_config_dict") else {}
    if "pooling_mode" in cfg:  # sentence-transformers >= 5.x
        return cfg["pooling_mode"] == "mean" and cfg.get("include_prompt", True) is not False
    modes = {k: v for k, v in cfg.items() if k.startswith("pooling_mode_")}
    return modes.get("pooling_mode_mean_tokens") is True and sum(bool(v) for v in modes.values()) == 1


class PackedEncoder:
    """Encodes texts with a sentence-transformers model, several texts per packed row."""

    def __init__(self, model: Any, *, normalize: bool, row_tokens: int = 64, texts_per_forward: int = 64) -> None:
        self.model = model
        self.backbone = model[0].auto_model
        self.tokenizer = model.tokenizer
        self.max_length = int(model.max_seq_length)
        self.normalize = normalize
        self.row_tokens = row_tokens
        self.texts_per_forward = texts_per_forward

    @classmethod
    def build(cls, model: Any) -> PackedEncoder | None:
        """A packed encoder for `model`, or None when it cannot reproduce `model.encode` exactly."""
        try:
            modules = list(model)
        except TypeError:
            return None
        names = [_class_name(m) for m in modules]
        if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        backbone = getattr(modules[0], "auto_model", None)
        config = getattr(backbone, "config", None)
        tokenizer = getattr(model, "tokenizer", None)
        if (config is None or getattr(config, "model_type", None) != "bert"
                or getattr(config, "is_decoder", False)
                or getattr(config, "position_embedding_type", "absolute") != "absolute"
                or not getattr(tokenizer, "is_fast", False)
                or not _mean_pooling(modules[1])):
            return None
        try:
            packed = cls(model, normalize=len(modules) == 3)
            import numpy as np

            want = model.encode(PROBE_TEXTS, batch_size=len(PROBE_TEXTS), show_progress_bar=False,
                                convert_to_numpy=True)
            got = packed.encode(PROBE_TEXTS)
            if got.shape != want.shape or float(np.abs(got - want).max()) > TOLERANCE:
                return None
            # the same texts packed with others must give the same vectors as alone
            alone = np.stack([packed.encode([t])[0] for t in PROBE_TEXTS])
            if float(np.abs(alone - got).max()) > TOLERANCE:
                return None
        except Exception:  # any surprise from the model or the libraries: keep model.encode
            return None
        return packed

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One vector per text, in order, as float32 (blocking)."""
        import numpy as np

        ids: list[list[int]] = self.tokenizer(list(texts), padding=False, truncation=True,
                                              max_length=self.max_length)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.backbone.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), self.texts_per_forward):
            chunk = order[start:start + self.texts_per_forward]
            out[chunk] = self._forward([ids[i] for i in chunk])
        return out

    def _rows(self, lengths: list[int]) -> list[list[int]]:
        """First fit over texts sorted longest first: indexes of the texts in each row."""
        rows: list[list[int]] = []
        fill: list[int] = []
        for i, n in enumerate(lengths):
            for r, used in enumerate(fill):
                if used + n <= self.row_tokens:
                    rows[r].append(i)
                    fill[r] += n
                    break
            else:
                rows.append([i])
                fill.append(n)
        return rows

    def _forward(self, ids: list[list[int]]) -> NDArray[np.float32]:
        import torch

        rows = self._rows([len(x) for x in ids])
        width = max(sum(len(ids[i]) for i in row) for row in rows)
        device = self.backbone.device
        input_ids = torch.zeros((len(rows), width), dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        segment = torch.full((len(rows), width), -1, dtype=torch.long)
        spans: list[tuple[int, int, int]] = [(0, 0, 0)] * len(ids)
        for r, row in enumerate(rows):
            offset = 0
            for k, i in enumerate(row):
                n = len(ids[i])
                input_ids[r, offset:offset + n] = torch.tensor(ids[i], dtype=torch.long)
                positions[r, offset:offset + n] = torch.arange(n)
                segment[r, offset:offset + n] = k
                spans[i] = (r, offset, n)
                offset += n
        # a token attends to the tokens of its own text; padding attends to itself (never all masked)
        allowed = (segment[:, :, None] == segment[:, None, :]) & (segment[:, :, None] >= 0)
        allowed |= torch.eye(width, dtype=torch.bool)[None]
        dtype = self.backbone.dtype
        mask = torch.zeros((len(rows), 1, width, width), dtype=dtype)
        mask.masked_fill_(~allowed[:, None], torch.finfo(dtype).min)
        with torch.inference_mode():
            hidden = self.backbone(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                   position_ids=positions.to(device),
                                   token_type_ids=torch.zeros_like(input_ids).to(device)).last_hidden_state
            vectors = torch.stack([hidden[r, offset:offset + n].mean(dim=0) for r, offset, n in spans])
            if self.normalize:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            result: NDArray[np.float32] = vectors.float().cpu().numpy()
        return result
