# Tokenizer and the models of every scale at stages random (init) and base (pre-trained).
# Hub-sourced stages are fetched into the same on-disk form (save_pretrained, safetensors).


rule tokenizer:
    input:
        corpus=rules.corpus.output.train,
    output:
        directory(f"{RESULTS}/models/tokenizer"),
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
    log:
        f"{RESULTS}/logs/models/tokenizer.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV["train"]
    script:
        "../scripts/tokenizer.py"


rule random_init:
    input:
        unpack(random_init_input),
    output:
        directory(f"{RESULTS}/models/{{scale}}-random"),
    params:
        build=lambda wc: config["scales"][wc.scale].get("build"),
        seed=config["seed"],
    log:
        f"{RESULTS}/logs/models/{{scale}}-random.log",
    priority: 10  # cheap, and every random-init evaluation and study job waits for it
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        ENV["train"]
    script:
        "../scripts/random_init.py"


rule pretrain:
    input:
        tokenizer=rules.tokenizer.output[0],
        train=rules.corpus.output.train,
        val=rules.corpus.output.val,
    output:
        directory(f"{RESULTS}/models/{{scale}}-base"),
    wildcard_constraints:
        scale=one_of(NAMES["built"]),
    params:
        build=lambda wc: config["scales"][wc.scale]["build"],
        hparams=lambda wc: config["scales"][wc.scale]["pretrain"],
        seed=config["seed"],
        # Checkpoints live outside the declared output so a killed job resumes on re-run.
        ckpt_dir=lambda wc: f"{RESULTS}/checkpoints/pretrain/{wc.scale}",
    log:
        f"{RESULTS}/logs/models/{{scale}}-base.log",
    benchmark:
        f"{RESULTS}/benchmarks/pretrain_{{scale}}.tsv"
    # one thread: the scales pre-train side by side on a 2-core laptop (measured faster than
    # one after the other with two threads each); clusters give it a GPU instead
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
        **parallel_resources("pretrain"),
    conda:
        ENV["train"]
    script:
        "../scripts/pretrain.py"


rule fetch_model:
    input:
        # a local GGUF file or the files of a local folder: changed weights re-run what uses them
        lambda wc: source_files(hub_entry(wc.model)),
    output:
        directory(f"{RESULTS}/models/{{model}}"),
    wildcard_constraints:
        model=one_of(NAMES["hub"]),
    params:
        entry=lambda wc: hub_entry(wc.model),
    log:
        f"{RESULTS}/logs/models/{{model}}.log",
    threads: 1
    resources:
        mem_mb=32000,
        runtime=120,
    conda:
        ENV["train"]
    script:
        "../scripts/fetch_model.py"
