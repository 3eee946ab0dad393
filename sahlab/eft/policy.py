"""Emulated fine-tuning (EFT, Mitchell et al. 2023) as a DecodingPolicy.

Fine-tuning is read as KL-regularised RL with implicit reward r = log π_ft − log π_base, so the
behaviour delta of a fine-tune at one scale can be grafted onto the pre-training of another:

    log p_EFT(x) = log_softmax( log π_base_L(x) + Σ_i β_i · (log π_ft_i(x) − log π_base_i(x)) )

per token, each model log-softmaxed first. Up-scaling = large base + small fine-tune delta;
down-scaling = small base + large fine-tune delta (same class, other models); β interpolates
(0 … 1) or extrapolates (> 1) the delta; two deltas over one base mix as λ·r1 + (1 − λ)·r2
(`EFTPolicy.mixture`). Every distinct model object runs once per token with its own KV cache; a
model given under several roles (e.g. base_small is base_large) is run once and its weights summed.

Per-member prompts: with `prompt_formats`, each member is prefilled with its own rendering of the
prompt (fine-tuned members: chat; base members: their native layout), and the continuation
tokens — shared by all members — are scored by each one after its own prompt. Decoding goes
through the ordinary harness: it sees the *reference* rendering (the `ft_small` member's format,
the format the output is read back in), and each member swaps the reference prompt for its own
(`bind_prompts`, done by `render_prompts`) when it is prefilled. Every member keeps its own KV
cache, attention mask and positions, so prompts of different lengths are exact.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Sequence, Union

from sahlab.eval.policy import ModelPolicy

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from sahlab.eft.rewind import RewindablePolicy

# A member is a loaded model, a ModelPolicy (model + tokenizer) or a save_pretrained folder.
Member = Union["PreTrainedModel", ModelPolicy, str, os.PathLike]

# Log-probs below this are clamped: a token some model masks with -inf would otherwise turn into
# +inf or NaN under a negative weight. exp(-1e4) is zero in float32 anyway.
_LOGP_FLOOR = -1e4

_SPECIAL_ROLES = ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id")


class EFTPolicy:
    """Per-token combination of a base model and fine-tuning deltas (see module docstring).

    Args:
        base_large: the model whose pre-training is kept (weight 1).
        ft_small, base_small: the fine-tuned model and its own base; their log-ratio, times `beta`,
            is the behaviour delta added to `base_large`.
        beta: delta strength (0 = base_large alone, 1 = plain EFT, > 1 extrapolates).
        extra_deltas: more `(beta_i, ft_i, base_i)` deltas, added the same way.
        tokenizer: the shared tokenizer; required only when members are bare models loaded from
            somewhere without tokenizer files. Default: the tokenizer of `ft_small` (the fine-tune
            defines the prompt format and end-of-turn token of the emulated model).
        check_special_tokens: also require equal special-token roles (BOS/EOS/PAD/UNK ids and the
            special-id set), not only an equal vocabulary. Turn off for hub pairs whose base and
            chat tokenizers name a different EOS over the same vocabulary.
        dtype: dtype for members given as folders.
        prompt_formats: role name -> prompt format (`sahlab.models.prompting`: "chat", "native"),
            one per role ("base_large", "ft_small", "base_small", "extra_deltas[i].ft",
            "extra_deltas[i].base"); `render_prompts` then renders each member's own prompt.
            None: every member sees the one prompt the harness passes (a shared format).

    All members must share a tokenizer (checked; a ValueError names the differing members). The
    models must be in eval mode. The object implements the harness's DecodingPolicy protocol.
    """

    def __init__(
        self,
        base_large: Member,
        ft_small: Member,
        base_small: Member,
        beta: float = 1.0,
        extra_deltas: Sequence[tuple[float, Member, Member]] = (),
        *,
        tokenizer: "PreTrainedTokenizerBase | None" = None,
        check_special_tokens: bool = True,
        dtype: Any = None,
        prompt_formats: dict[str, str] | None = None,
    ):
        roles: list[tuple[str, Member, float]] = [
            ("base_large", base_large, 1.0),
            ("ft_small", ft_small, _finite("beta", beta)),
            ("base_small", base_small, -float(beta)),
        ]
        for i, delta in enumerate(extra_deltas):
            if not isinstance(delta, (tuple, list)) or len(delta) != 3:
                raise ValueError(
                    f"extra_deltas[{i}] must be a (beta, ft_model, base_model) triple, got {delta!r}"
                )
            b = _finite(f"extra_deltas[{i}] beta", delta[0])
            roles += [(f"extra_deltas[{i}].ft", delta[1], b), (f"extra_deltas[{i}].base", delta[2], -b)]

        resolved = _resolve_members([(name, spec) for name, spec, _ in roles], tokenizer, dtype)
        check_shared_tokenizer(
            [(name, tok) for name, (_, tok) in zip([r[0] for r in roles], resolved)],
            check_special_tokens=check_special_tokens,
        )
        self.tokenizer = tokenizer if tokenizer is not None else resolved[1][1]
        self.ft_small_model = resolved[1][0]  # the default draft model of speculative up-scaling

        formats = _check_formats(prompt_formats, [r[0] for r in roles])
        self.prompt_format = formats["ft_small"] if formats else None  # the format outputs are read in

        # One RewindablePolicy per distinct model object, weights of repeated roles summed.
        from sahlab.eft.rewind import RewindablePolicy

        by_model: dict[int, dict] = {}
        for (name, _, weight), (model, tok) in zip(roles, resolved):
            entry = by_model.setdefault(
                id(model),
                {
                    "names": [],
                    "model": model,
                    "weight": 0.0,
                    "tok": tok,
                    "fmt": formats.get(name) if formats else None,
                },
            )
            if formats and formats[name] != entry["fmt"]:
                raise ValueError(
                    f"EFT roles {entry['names'][0]} and {name} are the same model but have prompt "
                    f"formats {entry['fmt']!r} and {formats[name]!r}; one model has one format"
                )
            entry["names"].append(name)
            entry["weight"] += weight
        self._all = [
            (" = ".join(e["names"]), RewindablePolicy(e["model"], self.tokenizer), e["weight"])
            for e in by_model.values()
        ]
        # Per distinct member: its own tokenizer (native layouts are bound to it) and prompt format.
        self._member_tok = {id(p): e["tok"] for (_, p, _), e in zip(self._all, by_model.values())}
        self._member_fmt = {id(p): e["fmt"] for (_, p, _), e in zip(self._all, by_model.values())}
        self._prompt_maps: dict[int, dict[tuple, list[int]]] = {}  # member -> reference ids -> own ids
        # Zero-weight members (β = 0, or a delta that cancels) change nothing: they are not run. The
        # weights always sum to 1 (each delta sums to 0), so at least one member remains.
        self.members: list[tuple[str, "RewindablePolicy", float]] = [
            m for m in self._all if abs(m[2]) > 1e-12
        ]
        self.beta = float(beta)
        self.vocab_size = _common_vocab_width([m[1].model for m in self._all], self.tokenizer)

    @classmethod
    def mixture(
        cls,
        base_large: Member,
        ft_a: Member,
        ft_b: Member,
        base_small: Member,
        lam: float,
        beta: float = 1.0,
        **kwargs,
    ) -> "EFTPolicy":
        """EFT with the reward mixture λ·r_a + (1 − λ)·r_b of two fine-tunes of the same `base_small`.

        r_a = log π_ft_a − log π_base_small, r_b likewise; the mixed delta is scaled by `beta`.
        λ = 1 gives `ft_a`'s delta alone, λ = 0 `ft_b`'s. `prompt_formats` (optional) has the keys
        base_large, ft_a, ft_b, base_small; outputs are read in ft_a's format.
        """
        lam, beta = _finite("lam", lam), _finite("beta", beta)
        fmts = kwargs.pop("prompt_formats", None)
        if fmts is not None:
            fmts = dict(fmts)
            need = {"base_large", "ft_a", "ft_b", "base_small"}
            if set(fmts) != need:
                raise ValueError(
                    f"mixture prompt_formats needs exactly the keys {sorted(need)}, got {sorted(fmts)}"
                )
            kwargs["prompt_formats"] = {
                "base_large": fmts["base_large"],
                "ft_small": fmts["ft_a"],
                "base_small": fmts["base_small"],
                "extra_deltas[0].ft": fmts["ft_b"],
                "extra_deltas[0].base": fmts["base_small"],
            }
        return cls(
            base_large,
            ft_a,
            base_small,
            beta=beta * lam,
            extra_deltas=[(beta * (1.0 - lam), ft_b, base_small)],
            **kwargs,
        )

    def weights(self) -> dict[str, float]:
        """Weight of each distinct member model in the log-linear combination (for logs and tests)."""
        return {name: weight for name, _, weight in self._all}

    def member_policy(self, model: "PreTrainedModel") -> "RewindablePolicy | None":
        """The policy wrapping this exact model object, if it is a member (possibly of weight 0)."""
        for _, policy, _ in self._all:
            if policy.model is model:
                return policy
        return None

    def combine(self, logps: Sequence["torch.Tensor"]) -> "torch.Tensor":
        """Combine per-member log-probs [..., V_m] (in `members` order) into EFT log-probs [..., V]."""
        import torch

        if len(logps) != len(self.members):
            raise ValueError(f"combine expects {len(self.members)} member log-prob tensors, got {len(logps)}")
        total = None
        for lp, (_, _, weight) in zip(logps, self.members):
            term = lp[..., : self.vocab_size].clamp_min(_LOGP_FLOOR)
            if total is not None and term.device != total.device:
                term = term.to(total.device)
            term = term if weight == 1.0 else term * weight
            total = term if total is None else total + term
        return torch.log_softmax(total, dim=-1)

    def prefill(self, input_ids: "torch.LongTensor", attention_mask: "torch.LongTensor") -> "torch.Tensor":
        """Prefill every member's cache with the left-padded prompts (each member its own rendering
        when prompts are bound); return EFT log-probs [B, V]."""
        return self.combine(self.prefill_members(input_ids, attention_mask))

    def prefill_members(self, input_ids: "torch.LongTensor", attention_mask: "torch.LongTensor") -> list:
        """Prefill every member (in `members` order); return each member's log-probs [B, V_m].

        `input_ids` are left-padded reference prompts; a member with bound prompts (`bind_prompts`)
        is prefilled with its own token ids of the same prompts instead."""
        out = []
        for _, policy, _ in self.members:
            ids, mask = self.member_inputs(policy, input_ids, attention_mask)
            out.append(policy.prefill(ids, mask))
        return out

    def member_inputs(
        self, policy: "RewindablePolicy", input_ids: "torch.LongTensor", attention_mask: "torch.LongTensor"
    ) -> tuple["torch.LongTensor", "torch.LongTensor"]:
        """The left-padded prompts `policy` (a member) is prefilled with for these reference prompts."""
        import torch

        table = self._prompt_maps.get(id(policy))
        if table is None:
            return input_ids, attention_mask
        rows = []
        for r in range(input_ids.shape[0]):
            key = tuple(input_ids[r][attention_mask[r].bool()].tolist())
            if key not in table:
                raise ValueError(
                    f"EFT member {self._member_name(policy)} has its own prompt format, but prompt "
                    f"row {r} was not bound to its rendering: render prompts with "
                    "EFTPolicy.render_prompts (or bind_prompts) before decoding them"
                )
            rows.append(table[key])
        pad = self._member_tok[id(policy)].pad_token_id
        pad = pad if pad is not None else 0
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[r, width - len(row) :] = 1
        return ids, mask

    def bind_prompts(self, reference: Sequence[str], own: dict[str, Sequence[str]]) -> None:
        """Bind each member's own rendering of the prompts to the reference rendering the harness decodes.

        reference: the prompts as passed to `generate` / `speculative_generate`; own: member role
        name (any of its roles) -> its prompts, in the same order. Members not named see the
        reference prompts. Bindings accumulate (several tasks can be bound before decoding); a
        reference prompt bound to two different renderings of one member is an error.
        """
        from sahlab.eval.generate import encode_prompts

        reference = list(reference)
        ref_ids = [tuple(x) for x in encode_prompts(self.tokenizer, reference)] if reference else []
        for role, prompts in own.items():
            policy = self._policy_of_role(role)
            prompts = list(prompts)
            if len(prompts) != len(reference):
                raise ValueError(
                    f"bind_prompts: {len(prompts)} prompts for member {role}, "
                    f"{len(reference)} reference prompts"
                )
            table = self._prompt_maps.setdefault(id(policy), {})
            for i, (key, ids) in enumerate(
                zip(ref_ids, encode_prompts(self._member_tok[id(policy)], prompts) if prompts else [])
            ):
                if table.get(key, ids) != ids:
                    raise ValueError(
                        f"bind_prompts: reference prompt {i} ({reference[i]!r}) is bound to two "
                        f"different prompts of member {role}; the reference format cannot tell "
                        "them apart"
                    )
                table[key] = ids

    def render_prompts(self, examples: Sequence[str | dict], task: str | None) -> list[str]:
        """Render task prompts for every member in its own format and bind them; returns the
        reference prompts (the fine-tuned member's format) to pass to the decoder."""
        from sahlab.models.prompting import format_prompt

        if self.prompt_format is None:
            raise ValueError("EFTPolicy.render_prompts needs prompt_formats (one format per role)")
        reference = [format_prompt(self.tokenizer, ex, self.prompt_format, task) for ex in examples]
        own = {}
        for name, policy, _ in self._all:
            fmt, tok = self._member_fmt[id(policy)], self._member_tok[id(policy)]
            rendered = [format_prompt(tok, ex, fmt, task) for ex in examples]
            if rendered != reference:
                own[name.split(" = ")[0]] = rendered
        self.bind_prompts(reference, own)
        return reference

    def stop_strings(self, task: str | None) -> list[str]:
        """Stop strings of EFT decoding: the union of the running members' own (chat: none, the turn
        ends with EOS; native: the layout's item boundary, e.g. "\\n" after a QA answer).

        The continuation is one text scored by all members; it ends where any member's format says an
        answer ends. This never cuts an answer of the fine-tuned format short as long as that
        answer cannot contain a base layout's boundary (the embedded tasks' chat answers contain
        none: one line for QA and translation, single newlines in math and instructions)."""
        from sahlab.models.prompting import stop_strings

        if self.prompt_format is None:
            raise ValueError("EFTPolicy.stop_strings needs prompt_formats (one format per role)")
        out: list[str] = []
        for _, policy, _ in self.members:
            for s in stop_strings(self._member_tok[id(policy)], self._member_fmt[id(policy)], task):
                if s not in out:
                    out.append(s)
        return out

    def to_task_form(self, outputs: Sequence[str], task: str | None) -> list[str]:
        """Generated answers read back in the fine-tuned member's format (`prompting.to_task_form`)."""
        from sahlab.models.prompting import to_task_form

        if self.prompt_format is None:
            raise ValueError("EFTPolicy.to_task_form needs prompt_formats (one format per role)")
        return to_task_form(self.tokenizer, outputs, self.prompt_format, task)

    def member_formats(self) -> dict[str, str | None]:
        """Prompt format of each distinct member (for logs and records)."""
        return {name: self._member_fmt[id(policy)] for name, policy, _ in self._all}

    def _policy_of_role(self, role: str) -> "RewindablePolicy":
        for name, policy, _ in self._all:
            if role in name.split(" = "):
                return policy
        raise ValueError(f"no EFT member has role {role!r}; roles: {[n for n, _, _ in self._all]}")

    def _member_name(self, policy) -> str:
        return next(name for name, p, _ in self._all if p is policy)

    def step(self, tokens: "torch.LongTensor") -> "torch.Tensor":
        """Append one token per row to every member; return EFT log-probs [B, V]."""
        return self.combine([policy.step(tokens) for _, policy, _ in self.members])

    def reset(self) -> None:
        """Drop every member's KV cache."""
        for _, policy, _ in self._all:
            policy.reset()


def _check_formats(formats: dict[str, str] | None, roles: list[str]) -> dict[str, str] | None:
    """`prompt_formats` must name a known format for every role (or be None)."""
    if formats is None:
        return None
    from sahlab.models.prompting import RENDER_FORMATS

    formats = dict(formats)
    missing = [r for r in roles if r not in formats]
    unknown = [r for r in formats if r not in roles]
    if missing or unknown:
        raise ValueError(
            f"prompt_formats must give one format per EFT role {roles}; missing {missing}, unknown {unknown}"
        )
    bad = {r: f for r, f in formats.items() if f not in RENDER_FORMATS}
    if bad:
        raise ValueError(f"prompt_formats: unknown format(s) {bad}; allowed: {list(RENDER_FORMATS)}")
    return formats


def _finite(field: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{field} must be finite, got {value}")
    return value


def _resolve_members(specs: list[tuple[str, Member]], tokenizer, dtype) -> list[tuple[Any, Any]]:
    """(model, tokenizer) per role; a folder named twice is loaded once (so it is run once)."""
    from torch import nn

    loaded: dict[str, ModelPolicy] = {}
    out = []
    for name, spec in specs:
        if isinstance(spec, ModelPolicy):
            out.append((spec.model, spec.tokenizer if tokenizer is None else tokenizer))
        elif isinstance(spec, (str, os.PathLike)):
            key = os.path.realpath(os.fspath(spec))
            if not os.path.isdir(key):
                raise ValueError(f"EFT member {name}: model folder {os.fspath(spec)!r} does not exist")
            if key not in loaded:
                loaded[key] = ModelPolicy.from_pretrained(key, dtype=dtype)
            out.append((loaded[key].model, loaded[key].tokenizer))
        elif isinstance(spec, nn.Module):  # a PreTrainedModel, or a wrapper such as a PeftModel
            if tokenizer is None:
                source = getattr(spec, "name_or_path", "") or ""
                if not source or not os.path.isdir(source):
                    raise ValueError(
                        f"EFT member {name}: a bare model needs `tokenizer=` (or pass a ModelPolicy, "
                        "or a save_pretrained folder holding the tokenizer)"
                    )
                from transformers import AutoTokenizer

                out.append((spec, AutoTokenizer.from_pretrained(source)))
            else:
                out.append((spec, tokenizer))
        else:
            raise ValueError(
                f"EFT member {name}: expected a model, a ModelPolicy or a model folder, "
                f"got {type(spec).__name__}"
            )
    return out


def check_shared_tokenizer(
    named: Sequence[tuple[str, "PreTrainedTokenizerBase"]], check_special_tokens: bool = True
) -> None:
    """Raise a ValueError naming the first pair of members whose tokenizers differ.

    Compared: the vocabulary (`get_vocab()`: every token string and its id) and, if
    `check_special_tokens`, the BOS/EOS/PAD/UNK ids and the set of special-token ids.
    """
    if not named:
        return
    ref_name, ref = named[0]
    ref_sig = None
    seen = {id(ref)}
    for name, tok in named[1:]:
        if id(tok) in seen:
            continue
        seen.add(id(tok))
        if ref_sig is None:
            ref_sig = _tokenizer_signature(ref)
        sig = _tokenizer_signature(tok)
        if sig["vocab"] != ref_sig["vocab"]:
            a, b = ref_sig["vocab"], sig["vocab"]
            only_a = sorted(set(a) - set(b))[:3]
            only_b = sorted(set(b) - set(a))[:3]
            moved = sorted(t for t in set(a) & set(b) if a[t] != b[t])[:3]
            raise ValueError(
                f"EFT members must share a tokenizer, but {ref_name} and {name} have different vocabularies "
                f"(sizes {len(a)} vs {len(b)}; only in {ref_name}: {only_a}; only in {name}: {only_b}; "
                f"different ids: {moved})"
            )
        if check_special_tokens:
            for field in (*_SPECIAL_ROLES, "special_ids"):
                if sig[field] != ref_sig[field]:
                    raise ValueError(
                        f"EFT members must share a tokenizer, but {ref_name} and {name} differ in {field} "
                        f"({ref_sig[field]} vs {sig[field]}); pass check_special_tokens=False if only the role "
                        "names differ over an identical vocabulary"
                    )


def _tokenizer_signature(tok) -> dict:
    sig = {"vocab": dict(tok.get_vocab())}
    for role in _SPECIAL_ROLES:
        sig[role] = getattr(tok, role, None)
    sig["special_ids"] = sorted(set(tok.all_special_ids))
    return sig


def _common_vocab_width(models, tokenizer) -> int:
    """Width of the shared log-prob vector: models may pad their output layer beyond the tokenizer."""
    widths = []
    for model in models:
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        widths.append(int(head.weight.shape[0]) if head is not None else int(model.config.vocab_size))
    width = min(widths)
    if width < len(tokenizer):
        raise ValueError(
            f"EFT members' output layers have {widths} rows, fewer than the tokenizer's "
            f"{len(tokenizer)} tokens"
        )
    return width
