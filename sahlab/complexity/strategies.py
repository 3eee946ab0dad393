"""Study B's strategies for one (conditioning model, task): every program as a point
(bits, performance).

Program bits = payload bits + code bits, where code bits = 8 × the raw size of the strategy's
minimal receiver script (`sahlab.complexity.programs`, as the paper counts its scripts); the
weight payloads are applied with the scripts' own functions. Payloads:
- baseline: nothing (0 bits);
- icl: k demonstrations (a seeded draw from the train split, nested in k). Payload = the
  arithmetic-code length -Σ log2 p of the rendered demonstrations under the conditioning model,
  given what the format adds by itself (BOS, a chat template's default system prompt: free, as
  in the baseline's prompt; `inference.icl_payload`); the zstd size of the same text is reported
  beside it (`payload_bits_zstd`);
- lora: one adapter per rank trained on train[:n_train] with the shared `train` (SFT); its factors
  (A, scaling·B) quantised to each bit width, zstd-compressed; performance of the model with the
  *decoded* payload merged in;
- blora (`complexity.blora` on): an SVD-form LoRA adapter trained on train[:n_train] with
  Bayesian-Bits gates on its bit widths (2..32) and rank (`sahlab.complexity.blora`, the paper's
  BLoRA); payload = zstd of its integer codes at the learned widths and ranks; the paper's
  nominal count (Σ #params × width) beside it (`nominal_bits`);
- full: full SFT on train[:n_train]; the weight delta quantised and compressed (at
  `zstd_level_delta`); performance of the conditioning model plus the decoded delta;
- urial: ICL after URIAL's preamble (what the assistant does, what the task asks:
  `sahlab.complexity.urial`); payload = the arithmetic-code length of preamble + demonstrations;
- online: data as program, the paper's single-pass online code of train[:N] — every example
  (prompt and answer, as the model reads them) coded under the model after one AdamW step on
  each earlier example (`programs/online.py`) — and the performance of the model after the pass;
  the block prequential code of the same prefixes is reported beside it (`datacode.block_code`).

Every program is scored on the selection split (the first `n_select` test examples); only the
ones chosen there (`frontier.programs_to_check`: the Pareto frontier and each strategy's best)
are rebuilt and scored on the disjoint evaluation split (the rest of `n_test`), where the
tables read complexity. Wall-clock timings are returned apart from the results ("timings"), so
the results of a rerun are byte-identical.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sahlab.complexity import datacode, inference
from sahlab.complexity.codelength import bits_from_logprobs
from sahlab.complexity.compress import compress
from sahlab.complexity.config import main_metric, max_new_tokens, online_grid
from sahlab.complexity.frontier import programs_to_check
from sahlab.complexity.programs import PROGRAMS, code_bits
from sahlab.complexity.quantize import n_params, naive_bits, quantize_state_dict

log = logging.getLogger("sahlab.complexity")


# ----------------------------------------------------------------------------- payloads
def weight_payload(sd: dict[str, Any], bits: int, level: int) -> tuple[bytes, dict[str, Any], dict]:
    """Quantise a state dict to `bits` and zstd-compress it.

    Returns (compressed blob, dequantised tensors, info) with info = payload_bits (8 x blob size),
    naive_bits (16 x #params), n_params, quantised_bytes, seconds (quantise + compress)."""
    t0 = time.perf_counter()
    payload, deq = quantize_state_dict(sd, bits)
    blob = compress(payload, level=level)
    info = {
        "payload_bits": 8 * len(blob),
        "naive_bits": naive_bits(sd),
        "n_params": n_params(sd),
        "quantised_bytes": len(payload),
        "seconds": round(time.perf_counter() - t0, 4),
    }
    return blob, deq, info


def read_adapter(adapter_dir: str | Path) -> dict[str, Any]:
    """A saved PEFT LoRA adapter as factors {"<module>.A", "<module>.B" (scaled)}."""
    from safetensors.torch import load_file

    adapter_dir = Path(adapter_dir)
    cfg_path, w_path = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    if not cfg_path.is_file() or not w_path.is_file():
        raise ValueError(
            f"{adapter_dir}: not a saved LoRA adapter (needs adapter_config.json and "
            "adapter_model.safetensors)"
        )
    cfg = json.loads(cfg_path.read_text())
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scaling = alpha / r**0.5 if cfg.get("use_rslora") else alpha / r
    return lora_factors(load_file(str(w_path)), scaling)


def lora_factors(adapter_sd: dict[str, Any], scaling: float) -> dict[str, Any]:
    """PEFT adapter tensors -> {"<module>.A": A, "<module>.B": scaling·B} keyed by the base
    model's module name, so W + B'A is the merged weight and no scale needs sending."""
    out = {}
    for key, t in adapter_sd.items():
        for part in ("A", "B"):
            tag = f".lora_{part}.weight"
            if key.endswith(tag):
                module = key[: -len(tag)].removeprefix("base_model.model.")
                out[f"{module}.{part}"] = t * scaling if part == "B" else t
                break
        else:
            raise ValueError(
                f"adapter tensor {key!r} is not a LoRA factor (lora_A / lora_B); "
                "only plain LoRA adapters can be sent as payloads"
            )
    return out


def weight_delta(base, tuned) -> dict[str, Any]:
    """tuned − base for every (untied) parameter of the conditioning model."""
    tuned_p = dict(tuned.named_parameters())
    return {n: (tuned_p[n].detach() - p.detach()).float() for n, p in base.named_parameters()}


# ----------------------------------------------------------------------------- orchestration
class _Job:
    """One (model, task): the conditioning model loaded once, trained models cached by name."""

    def __init__(self, model_dir, task, train_rows, test_rows, opts, seed, work_dir, threads):
        from sahlab.models.registry import load_model, load_tokenizer, read_model_meta

        self.model_dir, self.task, self.opts, self.seed = str(model_dir), task, opts, seed
        self.train_rows = train_rows
        k = opts["n_select"]
        self.splits = {"select": test_rows[:k], "eval": test_rows[k : opts["n_test"]]}
        self.work, self.threads = Path(work_dir), threads
        self.fmt = read_model_meta(model_dir)["prompt_format"]
        self.metric = main_metric(task, opts)
        self.max_new = max_new_tokens(task, opts)
        self.base = load_model(model_dir, dtype="float32")
        self.tok = load_tokenizer(model_dir)
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.level = opts["zstd_level"]
        self.script_bits = {s: code_bits(s) for s in PROGRAMS}
        self.trained: dict[str, str] = {}
        self.timings: list[dict] = []

    def evaluate(self, model, demos=(), preamble="", split="select") -> dict:
        res = inference.run_program(
            model,
            self.tok,
            self.task,
            self.splits[split],
            self.fmt,
            demos=demos,
            preamble=preamble,
            max_new_tokens=self.max_new,
            batch_size=self.opts["batch_size"],
            seed=self.seed,
            metric=self.metric,
            n_boot=self.opts["n_boot"],
        )
        self.timings.append(
            {"what": f"decode {split}", "seconds": res.pop("seconds"), "n_examples": res["n"]}
        )
        return res

    def point(self, strategy: str, setting: str, payload_bits: float, build, **extra) -> dict:
        """A program scored on the selection split; `build() -> (model, demos, preamble)`
        rebuilds its policy if it is chosen for the evaluation split."""
        sb = self.script_bits[strategy]
        model, demos, preamble = build()
        result = self.evaluate(model, demos, preamble)
        return {
            "strategy": strategy,
            "setting": setting,
            "bits": payload_bits + sb,
            "payload_bits": payload_bits,
            "script_bits": sb,
            "performance": result["performance"],
            "format": result["format"],
            "boot": result["boot"],
            "performance_eval": None,
            "format_eval": None,
            "boot_eval": None,
            **extra,
            "_build": build,
        }

    def result(self, points: list[dict], skipped: list[dict], **extra) -> dict:
        """The points.json fields of this (model, task), "timings" included (callers split it)."""
        return {
            "model": Path(self.model_dir).name,
            "task": self.task,
            "metric": self.metric,
            "prompt_format": self.fmt,
            "n_select": len(self.splits["select"]),
            "n_eval": len(self.splits["eval"]),
            "points": points,
            "skipped": skipped,
            **extra,
            "script_bits": self.script_bits,
            "timings": self.timings,
        }

    def train(self, name: str, rows: list[dict], hparams: dict) -> str:
        """Fine-tune the conditioning model on `rows` (cached by name); returns the folder."""
        from sahlab.train import train

        if name not in self.trained:
            out = self.work / name
            rows = [{**r, "task": self.task} for r in rows]  # the native layout is per task
            summary = train(
                self.model_dir,
                rows,
                "sft",
                {**hparams, "prompt_format": self.fmt},
                seed=self.seed,
                out_dir=out,
                threads=self.threads,
                stage="complexity",
            )
            self.timings.append(
                {"what": f"train {name}", "seconds": summary["seconds"], "n_examples": len(rows)}
            )
            self.trained[name] = str(out)
        return self.trained[name]

    def load(self, folder: str):
        from sahlab.models.registry import load_model

        return load_model(folder, dtype="float32")

    def with_payload(self, apply, blob):
        """A builder: a fresh copy of the conditioning model with the decoded payload applied."""

        def build():
            model = copy.deepcopy(self.base)
            apply(model, blob)
            return model, (), ""

        return build


def _fits(job: _Job, demos, preamble="") -> bool:
    """Whether every ICL prompt plus the answer budget fits the model's context."""
    limit = getattr(job.base.config, "max_position_embeddings", None)
    if not limit:
        return True
    tests = job.splits["select"] + job.splits["eval"]
    rendered = inference.render_icl_prompts(job.tok, demos, tests, job.task, job.fmt, preamble)
    longest = max(len(job.tok(t, add_special_tokens=False)["input_ids"]) for t in rendered)
    return longest + job.max_new <= limit


def run_baseline_icl(job: _Job) -> tuple[list[dict], list[dict]]:
    """Baseline (k = 0), ICL and URIAL points; returns (points, skipped settings)."""
    from sahlab.complexity.urial import preamble as urial_preamble
    from sahlab.eval.generate import sequence_logprobs

    points = [job.point("baseline", "prompt", 0.0, lambda: (job.base, (), ""))]
    order = random.Random(job.seed).sample(range(len(job.train_rows)), max(job.opts["icl_k"]))
    skipped = []
    variants = [("icl", "")] + ([("urial", urial_preamble(job.task))] if job.opts["urial"] else [])
    for strategy, pre in variants:
        for k in sorted(job.opts["icl_k"]):
            demos = [job.train_rows[i] for i in order[:k]]
            if not _fits(job, demos, pre):
                skipped.append(
                    {
                        "strategy": strategy,
                        "setting": f"k={k}",
                        "reason": "prompt + max_new_tokens exceed max_position_embeddings",
                    }
                )
                log.warning("%s k=%d skipped: prompts do not fit the context", strategy, k)
                continue
            # only the preamble and demonstrations are charged, coded given what the format adds
            # by itself (BOS, the chat template's default system prompt): free for the baseline too
            head, payload = inference.icl_payload(job.tok, demos, job.task, job.fmt, pre)
            ac_bits = bits_from_logprobs(
                sequence_logprobs(job.base, job.tok, [(head, payload) if head else payload], progress=False)[
                    0
                ]
            )
            zstd_bits = 8 * len(compress(payload.encode("utf-8"), level=job.level))
            points.append(
                job.point(
                    strategy,
                    f"k={k}",
                    ac_bits,
                    lambda demos=demos, pre=pre: (job.base, demos, pre),
                    k=k,
                    payload_bits_zstd=zstd_bits,
                    bits_zstd=zstd_bits + job.script_bits[strategy],
                )
            )
    return points, skipped


def run_lora(job: _Job) -> list[dict]:
    """One adapter per rank, evaluated with its decoded payload at every bit width."""
    from sahlab.complexity.programs import lora as lora_program

    rows = job.train_rows[: job.opts["n_train"]]
    points = []
    for r in job.opts["lora_ranks"]:
        hp = copy.deepcopy(job.opts["lora_hparams"])
        # only the adapter is needed (the payload); skip saving a merged copy of the model
        hp["lora"] = {**(hp.get("lora") or {}), "r": r, "merge": False}
        factors = read_adapter(Path(job.train(f"lora_r{r}", rows, hp)) / "adapter")
        for b in job.opts["bits"]:
            blob, _, info = weight_payload(factors, b, job.level)
            job.timings.append(
                {
                    "what": f"quantise+compress lora r={r} b={b}",
                    "seconds": info["seconds"],
                    "n_params": info["n_params"],
                }
            )
            points.append(
                job.point(
                    "lora",
                    f"r={r},b={b}",
                    info["payload_bits"],
                    job.with_payload(lora_program.apply, blob),
                    r=r,
                    quant_bits=b,
                    zstd_level=job.level,
                    naive_bits=info["naive_bits"],
                    n_params=info["n_params"],
                    n_train=len(rows),
                )
            )
    return points


def run_blora(job: _Job) -> list[dict]:
    """BLoRA (`sahlab.complexity.blora`): one SVD-form adapter trained on train[:n_train] with
    Bayesian-Bits gates on its widths and rank; one point, its payload at the learned widths."""
    from sahlab.complexity import blora
    from sahlab.complexity.programs import blora as blora_program

    opts, n = job.opts["blora"], job.opts["n_train"]
    rows = [{**r, "task": job.task} for r in job.train_rows[:n]]
    model = copy.deepcopy(job.base)
    t0 = time.perf_counter()
    layers, summary = blora.train_blora(model, job.tok, rows, job.fmt, opts, job.seed, log=log)
    job.timings.append(
        {"what": "train blora", "seconds": round(time.perf_counter() - t0, 3), "n_examples": n}
    )
    blob, info = blora.payload(layers, job.level)
    ranks = [m["rank"] for m in info["modules"].values()]
    widths = [w for m in info["modules"].values() for w in m["widths"].values()]
    log.info(
        "blora: %d modules, ranks %d-%d of %d, widths %d-%d bits, %d payload bits (nominal %d)",
        len(ranks),
        min(ranks),
        max(ranks),
        opts["r"],
        min(widths),
        max(widths),
        info["payload_bits"],
        info["nominal_bits"],
    )
    return [
        job.point(
            "blora",
            f"r={opts['r']}",
            info["payload_bits"],
            job.with_payload(blora_program.apply, blob),
            r=opts["r"],
            n_train=n,
            nominal_bits=info["nominal_bits"],
            blora_modules=info["modules"],
            blora_train=summary,
        )
    ]


def run_full(job: _Job) -> list[dict]:
    """Full fine-tuning on train[:n_train] (its own model, trained for this strategy alone):
    the quantised weight delta at every bit width."""
    from sahlab.complexity.programs import full as full_program

    n = job.opts["n_train"]
    tuned = job.load(job.train(f"full_n{n}", job.train_rows[:n], job.opts["full_hparams"]))
    delta = weight_delta(job.base, tuned)
    points = []
    for b in job.opts["bits"]:
        blob, _, info = weight_payload(delta, b, job.opts["zstd_level_delta"])
        job.timings.append(
            {
                "what": f"quantise+compress full delta b={b}",
                "seconds": info["seconds"],
                "n_params": info["n_params"],
            }
        )
        points.append(
            job.point(
                "full",
                f"N={n},b={b}",
                info["payload_bits"],
                job.with_payload(full_program.apply, blob),
                quant_bits=b,
                zstd_level=job.opts["zstd_level_delta"],
                naive_bits=info["naive_bits"],
                n_params=info["n_params"],
                n_train=n,
            )
        )
    return points


def online_texts(job: _Job, rows: list[dict]) -> list[str]:
    """Training examples as the conditioning model reads them (`datacode.sequence_texts`)."""
    return datacode.sequence_texts(job.tok, rows, job.fmt, job.task)


def run_online(job: _Job) -> tuple[list[dict], dict]:
    """Data as program: one single-pass online code of train[:N_max] (`programs/online.py`); the
    program for N is the first N texts (+ the lr header) and the model after N steps. Beside it
    (bits only), the block prequential code of the same prefixes, each block coded under a
    model fully fine-tuned (full_hparams) on the examples before it."""
    stage = job.model_dir.rstrip("/").rpartition("-")[2]
    grid, lr = online_grid(job.opts, stage, len(job.train_rows)), float(job.opts["online_lr"])
    texts = online_texts(job, job.train_rows[: grid[-1]])
    header_bits = 8 * len(json.dumps({"lr": lr}).encode()) + 8  # the payload's first line
    t0 = time.perf_counter()
    bits, states = datacode.online_code(copy.deepcopy(job.base), job.tok, texts, lr, keep=grid)
    job.timings.append(
        {"what": "online code pass", "seconds": round(time.perf_counter() - t0, 3), "n_examples": len(texts)}
    )
    points = []
    for n in grid:

        def build(n=n):
            model = copy.deepcopy(job.base)
            model.load_state_dict(states[n])
            return model, (), ""

        points.append(job.point("online", f"N={n}", header_bits + sum(bits[:n]), build, N=n))
    out = {"per_example_bits": bits, "lr": lr, "cumulative": [{"N": n, "bits": sum(bits[:n])} for n in grid]}
    block_n = [n for n in grid if n <= job.opts["prequential_block_max"]]
    if block_n:
        t0 = time.perf_counter()
        block = datacode.block_code(
            job.base,
            job.tok,
            texts,
            block_n,
            lambda n: job.load(job.train(f"block_n{n}", job.train_rows[:n], job.opts["full_hparams"])),
        )
        job.timings.append(
            {
                "what": "block prequential code",
                "seconds": round(time.perf_counter() - t0, 3),
                "n_examples": block_n[-1],
            }
        )
        out["block"] = block["cumulative"]
        for p in points:
            p["bits_block"] = next(
                (c["bits"] + p["script_bits"] + header_bits for c in block["cumulative"] if c["N"] == p["N"]),
                None,
            )
    return points, out


def check_chosen(job: _Job, points: list[dict]) -> int:
    """Score the programs chosen on the selection split on the evaluation split."""
    chosen = programs_to_check(points)
    for p in points:
        if (p["strategy"], p["setting"]) in chosen and job.splits["eval"]:
            model, demos, preamble = p["_build"]()
            res = job.evaluate(model, demos, preamble, split="eval")
            p.update(performance_eval=res["performance"], format_eval=res["format"], boot_eval=res["boot"])
    for p in points:
        del p["_build"]
    return len(chosen)


def run_complexity(
    model_dir,
    task: str,
    train_rows: list[dict],
    test_rows: list[dict],
    opts: dict,
    seed: int,
    *,
    threads: int = 1,
    work_dir=None,
) -> dict:
    """Every strategy's programs for one conditioning model and task.

    opts: the resolved `complexity` config section (`sahlab.complexity.config.settings`).
    test_rows: the first `n_select` are the selection split, the rest (up to `n_test`) the
    evaluation split.
    Returns {"model", "task", "metric", "prompt_format", "n_select", "n_eval", "points",
    "skipped", "prequential", "script_bits", "timings"}: everything but "timings" is a
    deterministic function of the inputs; trained models live in a temporary folder.
    """
    if not train_rows or not test_rows:
        raise ValueError(f"{task}: the train and test splits must not be empty")
    if len(test_rows) <= opts["n_select"]:
        raise ValueError(
            f"{task}: the test split has {len(test_rows)} examples; the selection "
            f"split (complexity.n_select = {opts['n_select']}) must leave some for "
            "the evaluation split"
        )
    needed = max(opts["n_train"], max(opts["icl_k"]))
    if needed > len(train_rows):
        raise ValueError(
            f"{task}: the complexity grid needs {needed} training examples, the train "
            f"split has {len(train_rows)}"
        )
    with tempfile.TemporaryDirectory(prefix="sahlab-complexity-", dir=work_dir) as tmp:
        job = _Job(model_dir, task, train_rows, test_rows, opts, seed, tmp, threads)
        t0 = time.perf_counter()
        points, skipped = run_baseline_icl(job)
        points += run_lora(job)
        if job.opts.get("blora"):
            points += run_blora(job)
        points += run_full(job)
        data_points, preq = run_online(job)
        points += data_points
        n_checked = check_chosen(job, points)
        seconds = round(time.perf_counter() - t0, 2)
        log.info(
            "%s / %s: %d programs (%d checked on %d evaluation examples) in %.1f s",
            model_dir,
            task,
            len(points),
            n_checked,
            len(job.splits["eval"]),
            seconds,
        )
    job.timings.append({"what": "total", "seconds": seconds})
    return job.result(points, skipped, prequential=preq)
