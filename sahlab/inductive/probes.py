"""Probes for the online code: linear and MLP probes on frozen LM features, and fine-tuning the
whole LM as a classifier (Lovering et al.'s setting), plus MDL averaged over probe seeds.

Every probe follows the online-code protocol `probe(X_train, y_train, seed) -> predict_proba`,
where predict_proba(X) returns an (n, K) array of float64 probabilities. Each call builds a
fresh probe (new initialisation from `seed`), as the online code requires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sahlab.inductive.online_code import DEFAULT_FRACTIONS, TrainProbe, online_codelength

POOLINGS = ("mean", "last")


# --------------------------------------------------------------------------- frozen features
def _load_tokenizer(model_dir: str | Path):
    from transformers import AutoTokenizer

    from sahlab.models.registry import check_model_folder

    # The registry's check: config.json, complete safetensors, no pickle-only weights, tokenizer.
    path = check_model_folder(model_dir)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        fallback = tok.eos_token or tok.unk_token
        if fallback is None:
            raise ValueError(f"tokenizer in {str(path)!r} has no pad, eos or unk token to pad with")
        tok.pad_token = fallback
    # Right padding keeps the position ids of real tokens identical to an unpadded forward pass
    # (Llama derives positions from the sequence index, not the mask); pooling uses the mask.
    tok.padding_side = "right"
    return tok


def _render(tok, texts: Sequence[str], prompt_format: str | None) -> list[str]:
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(f"texts must be strings; row {bad[0]} is {type(texts[bad[0]]).__name__}")
    if prompt_format is None:
        return texts
    from sahlab.models.prompting import format_prompt

    return [format_prompt(tok, t, prompt_format) for t in texts]


def _pool(hidden, mask, pooling: str):
    """Mean over real tokens, or the hidden state of the last real token (right padding)."""
    import torch

    if pooling == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)
    if pooling == "last":
        last = mask.long().sum(1).clamp_min(1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {pooling!r}; allowed: {list(POOLINGS)}")


def extract_features(
    model_dir: str | Path,
    texts: Sequence[str],
    pooling: str = "mean",
    layer: int = -1,
    batch_size: int = 32,
    max_length: int = 512,
    prompt_format: str | None = None,
    add_special_tokens: bool = False,
    device: str = "cpu",
    progress: bool = True,
) -> np.ndarray:
    """Frozen representations (n, hidden_size) float32 of `texts` under a causal LM.

    pooling: "mean" = mean of the chosen layer's hidden states over the real (non-pad) tokens,
    "last" = the hidden state of the last real token. layer: index into the hidden states
    (-1 = the final, normalised hidden state; 0 = the embeddings). Texts are used as given
    (prompt_format=None) or rendered with `format_prompt`; like the rest of sahlab they are
    tokenized with add_special_tokens=False since rendered prompts carry their own BOS.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; allowed: {list(POOLINGS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    tok = _load_tokenizer(model_dir)
    texts = _render(tok, texts, prompt_format)
    lm = (
        AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, use_safetensors=True)
        .to(device)
        .eval()
    )
    body = lm.base_model  # skip the LM head: its vocab-sized logits are not needed here
    n_states = lm.config.num_hidden_layers + 1
    if not -n_states <= layer < n_states:
        raise ValueError(f"layer {layer} out of range for a model with {n_states} hidden states")
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"features {Path(model_dir).name}", leave=False)
    out = []
    with torch.no_grad():
        for s in starts:
            enc = tok(
                texts[s : s + batch_size],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
                add_special_tokens=add_special_tokens,
            ).to(device)
            if layer == -1:
                hidden = body(**enc).last_hidden_state
            else:
                hidden = body(**enc, output_hidden_states=True).hidden_states[layer]
            out.append(_pool(hidden.float(), enc["attention_mask"], pooling).cpu().numpy())
    if not out:
        return np.zeros((0, lm.config.hidden_size), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)


def _standardiser(X: np.ndarray):
    """Feature-wise z-scoring fitted on the probe's training rows (keeps LBFGS well conditioned)."""
    mu = X.mean(0)
    sd = X.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    return lambda Z: (np.asarray(Z, dtype=np.float64) - mu) / sd


def _check_xy(X: Any, y: Any, n_classes: int, who: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
        raise ValueError(f"{who}: X must be (n, d) with n = len(y) ≥ 1; got X {X.shape}, y {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{who}: X contains NaN or inf")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{who}: labels must lie in [0, {n_classes}), got {np.unique(y).tolist()}")
    return X, y.astype(np.int64)


@dataclass
class LinearProbe:
    """Multinomial logistic regression with an L2 penalty, fitted full-batch with LBFGS (float64).

    Loss = mean cross-entropy + l2 · ||W||² (bias not penalised). The problem is convex, so no
    early stopping: l2 is what keeps a probe fitted on a handful of examples from being
    overconfident on the next block.
    """

    n_classes: int
    l2: float = 1e-2
    max_iter: int = 200

    def __call__(self, X_train: Any, y_train: Any, seed: int):
        import torch

        X, y = _check_xy(X_train, y_train, self.n_classes, "LinearProbe")
        scale = _standardiser(X)
        g = torch.Generator().manual_seed(int(seed))
        Xt = torch.from_numpy(scale(X))
        yt = torch.from_numpy(y)
        W = (
            0.01 * torch.randn(X.shape[1], self.n_classes, generator=g, dtype=torch.float64)
        ).requires_grad_()
        b = torch.zeros(self.n_classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [W, b], lr=1.0, max_iter=self.max_iter, tolerance_grad=1e-9, line_search_fn="strong_wolfe"
        )

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt) + self.l2 * (W * W).sum()
            loss.backward()
            return loss

        opt.step(closure)
        W_, b_ = W.detach(), b.detach()

        def predict_proba(X_new: Any) -> np.ndarray:
            Z = torch.from_numpy(scale(np.asarray(X_new, dtype=np.float64)))
            return torch.softmax(Z @ W_ + b_, dim=-1).numpy()

        return predict_proba


@dataclass
class MLPProbe:
    """One-hidden-layer ReLU MLP trained with Adam, early-stopped on a held-out slice.

    A seeded random `val_fraction` of the training rows (at least 1) is held out; training stops
    after `patience` epochs without a lower held-out cross-entropy and the best weights are kept.
    With fewer than `min_train_for_val` training rows no slice is held out and the probe trains
    for `fallback_epochs` epochs (a held-out slice of one or two examples would be pure noise).
    """

    n_classes: int
    hidden: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    max_epochs: int = 200
    patience: int = 10
    val_fraction: float = 0.1
    min_train_for_val: int = 10
    fallback_epochs: int = 20

    def __call__(self, X_train: Any, y_train: Any, seed: int):
        import torch

        X, y = _check_xy(X_train, y_train, self.n_classes, "MLPProbe")
        rng = np.random.default_rng(seed)
        if len(y) >= self.min_train_for_val:
            perm = rng.permutation(len(y))
            n_val = max(1, int(round(self.val_fraction * len(y))))
            val, fit = perm[:n_val], perm[n_val:]
        else:
            val, fit = np.array([], dtype=int), np.arange(len(y))
        scale = _standardiser(X[fit])
        torch.manual_seed(int(seed))
        net = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, self.n_classes),
        )
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        Xf = torch.from_numpy(scale(X[fit])).float()
        yf = torch.from_numpy(y[fit])
        Xv = torch.from_numpy(scale(X[val])).float()
        yv = torch.from_numpy(y[val])
        g = torch.Generator().manual_seed(int(seed))
        epochs = self.max_epochs if len(val) else self.fallback_epochs
        best, best_state, stale = math.inf, None, 0
        for _ in range(epochs):
            net.train()
            for batch in torch.randperm(len(yf), generator=g).split(self.batch_size):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(Xf[batch]), yf[batch]).backward()
                opt.step()
            if not len(val):
                continue
            net.eval()
            with torch.no_grad():
                v = torch.nn.functional.cross_entropy(net(Xv), yv).item()
            if v < best - 1e-6:
                best, stale = v, 0
                best_state = {k: t.clone() for k, t in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()

        def predict_proba(X_new: Any) -> np.ndarray:
            with torch.no_grad():
                Z = torch.from_numpy(scale(np.asarray(X_new, dtype=np.float64))).float()
                return torch.softmax(net(Z).double(), dim=-1).numpy()

        return predict_proba


# --------------------------------------------------------------------------- fine-tuning
@dataclass
class FinetuneProbe:
    """Fine-tune a fresh copy of a causal LM with a linear classification head (Lovering's setting).

    X is a list of texts. Each call reloads the model from `model_dir` (a fresh copy), puts a
    linear head on the pooled final hidden state ("last" real token by default), and trains all
    weights with AdamW for `epochs` epochs on the given rows (batches shuffled with `seed`; the
    head is initialised from `seed`).

    Cost: the online code trains one copy per block on all earlier blocks, whose sizes add up to
    ≈ 100 % of the data (0.1 + 0.2 + … + 50 %), so one online code costs about `epochs` epochs of
    fine-tuning on the whole probing set plus one forward pass over it, i.e. roughly 3·epochs·n
    forward-equivalents, times the number of seeds. For the embedded tiny models (≈1–5 M
    parameters, sequences of ~12 tokens) that is seconds to a few minutes on CPU for n ≈ 2000.
    """

    model_dir: str
    n_classes: int
    epochs: int = 3
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 16
    max_length: int = 128
    pooling: str = "last"
    prompt_format: str | None = None
    add_special_tokens: bool = False
    device: str = "cpu"

    def __call__(self, X_train: Sequence[str], y_train: Any, seed: int):
        import torch
        from transformers import AutoModelForCausalLM

        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; allowed: {list(POOLINGS)}")
        y = np.asarray(y_train)
        if len(X_train) != len(y) or len(y) == 0:
            raise ValueError(
                f"FinetuneProbe: need as many texts as labels (≥ 1), got "
                f"{len(X_train)} texts and {len(y)} labels"
            )
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(
                f"FinetuneProbe: labels must lie in [0, {self.n_classes}), got {np.unique(y).tolist()}"
            )
        tok = _load_tokenizer(self.model_dir)
        texts = _render(tok, X_train, self.prompt_format)
        torch.manual_seed(int(seed))
        lm = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32, use_safetensors=True)
        body = lm.base_model.to(self.device)
        head = torch.nn.Linear(lm.config.hidden_size, self.n_classes).to(self.device)
        params = list(body.parameters()) + list(head.parameters())
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        yt = torch.as_tensor(y, dtype=torch.long)
        g = torch.Generator().manual_seed(int(seed))

        def logits(batch_texts: list[str]):
            enc = tok(
                batch_texts,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=self.add_special_tokens,
            ).to(self.device)
            hidden = body(**enc).last_hidden_state
            return head(_pool(hidden, enc["attention_mask"], self.pooling))

        body.train()
        for _ in range(self.epochs):
            for batch in torch.randperm(len(y), generator=g).split(self.batch_size):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(
                    logits([texts[i] for i in batch.tolist()]), yt[batch].to(self.device)
                )
                loss.backward()
                opt.step()
        body.eval()

        def predict_proba(X_new: Sequence[str]) -> np.ndarray:
            new = _render(tok, X_new, self.prompt_format)
            out = []
            with torch.no_grad():
                for s in range(0, len(new), max(self.batch_size, 32)):
                    out.append(
                        torch.softmax(logits(new[s : s + max(self.batch_size, 32)]).double(), -1)
                        .cpu()
                        .numpy()
                    )
            return np.concatenate(out) if out else np.zeros((0, self.n_classes))

        return predict_proba


# --------------------------------------------------------------------------- seeds and ratio
def mdl_over_seeds(
    X: Any,
    y: Sequence[int],
    train_probe: TrainProbe,
    n_classes: int,
    seeds: Sequence[int] = (0, 1, 2),
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    uniform_mix: float = 1e-9,
    min_seeds: int = 3,
    progress: bool = True,
) -> dict:
    """Online code length averaged over probe seeds (each seed: its own balanced block order
    and probe initialisations). Returns mean_bits, std_bits (sample std, ddof=1), per_seed_bits,
    mean_compression, mean_final_accuracy (last block), uniform_bits and the per-seed `runs`."""
    seeds = list(seeds)
    if len(seeds) < min_seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"mdl_over_seeds: need ≥ {min_seeds} distinct seeds, got {seeds}")
    it = seeds
    if progress:
        from tqdm import tqdm

        it = tqdm(seeds, desc="MDL seeds", leave=False)
    runs = [online_codelength(X, y, train_probe, n_classes, s, fractions, uniform_mix) for s in it]
    bits = np.array([r["total_bits"] for r in runs])
    return {
        "mean_bits": float(bits.mean()),
        "std_bits": float(bits.std(ddof=1)),
        "per_seed_bits": bits.tolist(),
        "mean_compression": float(np.mean([r["compression"] for r in runs])),
        "mean_final_accuracy": float(np.mean([r["final_accuracy"] for r in runs])),
        "uniform_bits": runs[0]["uniform_bits"],
        "seeds": seeds,
        "runs": runs,
    }


def _bits(m: float | dict, name: str) -> float:
    if isinstance(m, dict):
        for key in ("mean_bits", "total_bits"):
            if key in m:
                m = m[key]
                break
        else:
            raise ValueError(f"{name}: dict needs 'mean_bits' or 'total_bits', has {sorted(m)}")
    m = float(m)
    if not (math.isfinite(m) and m > 0):
        raise ValueError(f"{name} must be a positive finite code length in bits, got {m}")
    return m


def relative_extractability(mdl_spurious: float | dict, mdl_target: float | dict) -> float:
    """MDL(spurious) / MDL(target): > 1 means the target is the more extractable feature.

    Accepts code lengths in bits or the dicts of `mdl_over_seeds` / `online_codelength`.
    """
    return _bits(mdl_spurious, "mdl_spurious") / _bits(mdl_target, "mdl_target")
