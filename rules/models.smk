# Tokenizer and the models of every scale at stages random (init) and base (pre-trained).
# Hub-sourced stages are fetched into the same on-disk form (save_pretrained, safetensors).


rule tokenizer:
    input:
        corpus=rules.corpus.output.train,
    output:
        directory(f"{RESULTS}/models/tokenizer"),
    log:
        f"{RESULTS}/logs/models/tokenizer.log",
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
    script:
        "../scripts/tokenizer.py"


rule random_init:
    input:
        unpack(random_init_input),
    output:
        directory(f"{RESULTS}/models/{{scale}}-random"),
    log:
        f"{RESULTS}/logs/models/{{scale}}-random.log",
    priority: 10  # cheap, and every random-init evaluation and study job waits for it
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        build=lambda wc: config["scales"][wc.scale].get("build"),
        seed=config["seed"],
    script:
        "../scripts/random_init.py"


rule pretrain:
    input:
        tokenizer=rules.tokenizer.output[0],
        train=rules.corpus.output.train,
        val=rules.corpus.output.val,
    output:
        directory(f"{RESULTS}/models/{{scale}}-base"),
    log:
        f"{RESULTS}/logs/models/{{scale}}-base.log",
    benchmark:
        f"{RESULTS}/benchmarks/pretrain_{{scale}}.tsv"
    wildcard_constraints:
        scale=one_of(NAMES["built"]),
    # one thread: the scales pre-train side by side on a 2-core laptop (measured faster than
    # one after the other with two threads each); clusters give it a GPU instead
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    conda:
        ENV["train"]
    threads: 1
    resources:
        **parallel_resources("pretrain"),
        mem_mb=8000,
        runtime=120,
    params:
        build=lambda wc: config["scales"][wc.scale]["build"],
        hparams=lambda wc: config["scales"][wc.scale]["pretrain"],
        seed=config["seed"],
        # Checkpoints live outside the declared output so a killed job resumes on re-run.
        ckpt_dir=lambda wc: f"{RESULTS}/checkpoints/pretrain/{wc.scale}",
    script:
        "../scripts/pretrain.py"


rule fetch_model:
    input:
        # a local GGUF file or the files of a local folder: changed weights re-run what uses them
        lambda wc: source_files(hub_entry(wc.model)),
    output:
        directory(f"{RESULTS}/models/{{model}}"),
    log:
        f"{RESULTS}/logs/models/{{model}}.log",
    wildcard_constraints:
        model=one_of(NAMES["hub"]),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=32000,
        runtime=120,
    params:
        entry=lambda wc: hub_entry(wc.model),
    script:
        "../scripts/fetch_model.py"
