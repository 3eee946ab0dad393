"""`RewindablePolicy`: a `ModelPolicy` that can also score several tokens at once and take them back.

Speculative decoding needs two things plain decoding does not: every verifier scores the k drafted
tokens in one forward pass (`extend`), and after a rejection each row forgets the drafted tokens it
did not accept (`rewind`). Rows of a batch accept different numbers of tokens, so a rewind does not
cut the cache per row: a row's rejected entries stay in the cache but are masked out (attention mask
0) and its position counter steps back, so its next tokens see exactly the context they would see
alone. Columns that no row keeps are cropped from the cache (`DynamicCache.crop`), which bounds
the dead entries to the spread of acceptance lengths within one round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sahlab.eval.policy import ModelPolicy

if TYPE_CHECKING:
    import torch


class RewindablePolicy(ModelPolicy):
    """ModelPolicy plus `extend` (k tokens in one pass) and per-row `rewind`."""

    def extend(self, tokens: "torch.LongTensor") -> "torch.Tensor":
        """Append k tokens to every row in one forward pass; return log-probs [B, k, V] (float32).

        Entry [:, j] is the next-token distribution after tokens[:, :j + 1], exactly what `k`
        successive `step` calls would return.
        """
        import torch

        if self._cache is None:
            raise ValueError("RewindablePolicy.extend called before prefill")
        if tokens.dim() != 2 or tokens.shape[0] != self._mask.shape[0] or tokens.shape[1] < 1:
            raise ValueError(
                f"extend expects tokens [batch={self._mask.shape[0]}, k>=1], got {tuple(tokens.shape)}"
            )
        k = tokens.shape[1]
        with torch.inference_mode():
            tokens = tokens.to(self._mask.device)
            self._mask = torch.cat([self._mask, torch.ones_like(self._mask[:, :1]).expand(-1, k)], dim=1)
            positions = self._next_pos[:, None] + torch.arange(k, device=tokens.device)[None, :]
            out = self.model(
                input_ids=tokens,
                attention_mask=self._mask,
                position_ids=positions,
                past_key_values=self._cache,
                use_cache=True,
            )
            self._next_pos = self._next_pos + k
            return torch.log_softmax(out.logits.float(), dim=-1)

    def rewind(self, keep: "torch.LongTensor", appended: int) -> None:
        """Of the last `appended` tokens of each row, keep the first `keep[r]` and forget the rest.

        Forgotten entries are masked out for good; trailing cache columns that no row keeps are cropped.
        """
        import torch

        if self._cache is None:
            raise ValueError("RewindablePolicy.rewind called before prefill")
        if appended < 0 or appended > self._mask.shape[1]:
            raise ValueError(f"rewind: appended={appended} outside [0, {self._mask.shape[1]}] cached tokens")
        keep = keep.to(self._mask.device)
        if keep.shape != (self._mask.shape[0],) or bool((keep < 0).any()) or bool((keep > appended).any()):
            raise ValueError(
                f"rewind: keep must be [batch={self._mask.shape[0]}] with values in [0, {appended}], "
                f"got {keep.tolist()}"
            )
        if appended == 0:
            return
        for layer in self._cache.layers:
            if not getattr(layer, "is_croppable", True) or getattr(layer, "is_sliding", False):
                raise ValueError(
                    f"{type(self.model).__name__} uses a {type(layer).__name__} cache layer, which "
                    "cannot be rewound; speculative decoding needs full-attention models"
                )
        with torch.inference_mode():
            width = self._mask.shape[1]
            forget = torch.arange(appended, device=keep.device)[None, :] >= keep[:, None]  # [B, appended]
            mask = self._mask.clone()
            mask[:, width - appended :][forget] = 0
            unused = appended - int(keep.max())
            if unused:
                self._cache.crop(-unused)  # transformers 5: a negative count removes that many tokens
                mask = mask[:, : width - unused]
            self._mask = mask
            self._next_pos = self._next_pos - (appended - keep)

    def select_rows(self, rows: "torch.LongTensor") -> None:
        """Keep only these batch rows (in this order) in the cache: finished rows stop costing compute."""
        import torch

        if self._cache is None:
            raise ValueError("RewindablePolicy.select_rows called before prefill")
        with torch.inference_mode():
            rows = rows.to(self._mask.device)
            self._cache.batch_select_indices(rows)
            self._mask = self._mask[rows]
            self._next_pos = self._next_pos[rows]

    @property
    def cached_length(self) -> int:
        """Cache columns currently held (live and masked-out entries), for tests and diagnostics."""
        return 0 if self._mask is None else int(self._mask.shape[1])
