"""`ModelPolicy`: one causal LM behind the DecodingPolicy protocol (see docs/interfaces.md).

The harness (`sahlab.eval.generate`) only ever calls `prefill` once per batch and then `step` once per
new token, so a policy is a small state machine around a KV cache. EFT combines several of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@runtime_checkable
class DecodingPolicy(Protocol):
    """Anything the harness can decode from: a tokenizer plus next-token log-probs with state."""

    tokenizer: "PreTrainedTokenizerBase"

    def prefill(self, input_ids: "torch.LongTensor", attention_mask: "torch.LongTensor") -> "torch.Tensor":
        """Start a batch of left-padded prompts [B, T]; return next-token log-probs [B, V] (float32)."""
        ...

    def step(self, tokens: "torch.LongTensor") -> "torch.Tensor":
        """Append one token per row [B] (finished rows included); return next-token log-probs [B, V]."""
        ...


class ModelPolicy:
    """A DecodingPolicy for one Hugging Face causal LM, with its own KV cache.

    The model must be in eval mode (`model.eval()`): dropout would make decoding random and break the
    equality with a plain forward pass; `prefill` raises a ValueError otherwise. Prompts are left-padded,
    and position ids are derived from the attention mask (cumsum - 1), so a padded row sees exactly the
    positions it would see alone. All work runs under `torch.inference_mode()`.

    `tokenizer` defaults to the one saved next to the model (`model.name_or_path`), which is where the
    pipeline's `save_pretrained` folders keep it. `eos_token_ids` (used by `generate` to stop rows) is
    the tokenizer's EOS plus any in the model's generation config (chat models often end turns with
    a second one).
    """

    def __init__(self, model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase | None" = None):
        if tokenizer is None:
            from sahlab.models.registry import load_tokenizer

            source = getattr(model, "name_or_path", "") or ""
            if not source:
                raise ValueError(
                    "ModelPolicy needs a tokenizer: pass one, or load the model from a folder "
                    "that also holds its tokenizer files"
                )
            tokenizer = load_tokenizer(source)  # with the model's native layouts bound
        self.model = model
        self.tokenizer = tokenizer
        self.eos_token_ids = _eos_ids(model, tokenizer)
        self._cache = None
        self._mask = None  # [B, T_seen] attention mask over everything in the cache
        self._next_pos = None  # [B] position id of the next token of each row

    @classmethod
    def from_pretrained(cls, path, dtype=None) -> "ModelPolicy":
        """Load a `save_pretrained` folder (model + tokenizer) in eval mode."""
        from transformers import AutoModelForCausalLM

        from sahlab.models.registry import check_model_folder, load_tokenizer

        check_model_folder(path)  # config.json, complete safetensors (no pickle), tokenizer
        from sahlab.parallel import device_map_kwargs

        model = AutoModelForCausalLM.from_pretrained(
            path,
            use_safetensors=True,
            **({"dtype": dtype} if dtype is not None else {}),
            **device_map_kwargs(),
        )
        model.eval()
        return cls(model, load_tokenizer(path))

    @property
    def device(self) -> "torch.device":
        return next(self.model.parameters()).device

    def prefill(self, input_ids: "torch.LongTensor", attention_mask: "torch.LongTensor") -> "torch.Tensor":
        """Run the left-padded prompts through the model, filling a fresh cache.

        Returns float32 log-softmax of the next token after each prompt, shape [B, V].
        """
        import torch

        if self.model.training:
            raise ValueError(
                "ModelPolicy needs the model in eval mode (call model.eval()); "
                "dropout would make decoding random"
            )
        if input_ids.shape != attention_mask.shape or input_ids.dim() != 2:
            raise ValueError(
                f"input_ids {tuple(input_ids.shape)} and attention_mask "
                f"{tuple(attention_mask.shape)} must both be [batch, time]"
            )
        device = self.device
        with torch.inference_mode():
            input_ids = input_ids.to(device)
            mask = attention_mask.to(device=device, dtype=torch.long)
            if bool((mask[:, -1] == 0).any()):
                raise ValueError(
                    "prompts must be left-padded: every row's last attention_mask entry must be 1"
                )
            # Pads get position 0 (they are masked out anyway); real tokens count from 0.
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            self._cache = _growing_cache(self.model.config)
            out = self.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=self._cache,
                use_cache=True,
                logits_to_keep=1,
            )
            self._mask = mask
            self._next_pos = mask.sum(-1)
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)

    def step(self, tokens: "torch.LongTensor") -> "torch.Tensor":
        """Append one token to every row and return the next-token log-probs [B, V] (float32)."""
        import torch

        if self._cache is None:
            raise ValueError("ModelPolicy.step called before prefill")
        if tokens.dim() != 1 or tokens.shape[0] != self._mask.shape[0]:
            raise ValueError(
                f"step expects one token per row: shape [{self._mask.shape[0]}], got {tuple(tokens.shape)}"
            )
        with torch.inference_mode():
            tokens = tokens.to(self._mask.device)
            ones = torch.ones_like(self._mask[:, :1])
            self._mask = torch.cat([self._mask, ones], dim=1)
            positions = self._next_pos[:, None]
            out = self.model(
                input_ids=tokens[:, None],
                attention_mask=self._mask,
                position_ids=positions,
                past_key_values=self._cache,
                use_cache=True,
            )
            self._next_pos = self._next_pos + 1
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)

    def reset(self) -> None:
        """Drop the KV cache (frees memory between evaluations)."""
        self._cache = self._mask = self._next_pos = None


def _eos_ids(model, tokenizer) -> list[int]:
    ids = []
    gen_config = getattr(model, "generation_config", None)
    for source in (tokenizer.eos_token_id, getattr(gen_config, "eos_token_id", None)):
        for i in source if isinstance(source, (list, tuple)) else [source]:
            if i is not None and int(i) not in ids:
                ids.append(int(i))
    return ids


def _growing_cache(config):
    """A DynamicCache whose full-attention layers grow in place instead of concatenating every step.

    Transformers' DynamicLayer copies the whole cache with `torch.cat` on each new token (about a fifth of
    a batched decoding step on CPU); preallocating with headroom makes appending a slice write.
    Sliding-window or other special layers keep their own implementation. Only transformers'
    public surface is used: `DynamicCache` and its layer class `DynamicLayer` are exported at the
    package top level (5.23), a cache's `layers` list is public, and `update` is the layer's
    documented override point (`CacheLayerMixin`); crop/reorder/batch_select stay transformers'.
    """
    from transformers import DynamicCache, DynamicLayer

    global _GrowingLayer
    if _GrowingLayer is None:

        class _Growing(DynamicLayer):
            def update(self, key_states, value_states, *args, **kwargs):
                if not self.is_initialized:
                    self.lazy_initialization(key_states, value_states)
                    self._kbuf = self._vbuf = None
                seen = self.keys.shape[-2] if self.keys.numel() else 0
                need = seen + key_states.shape[-2]
                # Reallocate when full, or when keys were replaced by a copy (batch_select, reorder).
                stale = seen and self.keys.data_ptr() != self._kbuf.data_ptr()
                if self._kbuf is None or need > self._kbuf.shape[-2] or stale:
                    b, h, _, d = key_states.shape
                    capacity = need + max(64, need // 2)
                    self._kbuf = key_states.new_empty(b, h, capacity, d)
                    self._vbuf = value_states.new_empty(b, h, capacity, value_states.shape[-1])
                    if seen:
                        self._kbuf[..., :seen, :] = self.keys
                        self._vbuf[..., :seen, :] = self.values
                self._kbuf[..., seen:need, :] = key_states
                self._vbuf[..., seen:need, :] = value_states
                self.keys, self.values = self._kbuf[..., :need, :], self._vbuf[..., :need, :]
                return self.keys, self.values

        _GrowingLayer = _Growing

    cache = DynamicCache(config=config)
    cache.layers = [_GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


_GrowingLayer = None
