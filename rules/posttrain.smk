# Post-training: the configured stages (SFT, then RL / DPO ...) applied in order to each scale's
# base model; the last stage becomes the scale's post-trained model <scale>-post.


rule posttrain_stage:
    input:
        unpack(posttrain_input),
    output:
        directory(f"{RESULTS}/posttrain/{{scale}}/{{stage}}"),
    log:
        f"{RESULTS}/logs/posttrain/{{scale}}-{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/posttrain_{{scale}}_{{stage}}.tsv"
    wildcard_constraints:
        stage=one_of(POST_STAGES),
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    conda:
        ENV["train"]
    threads: 1  # a 2-thread job never starts on 2 busy cores while 1-thread jobs queue
    resources:
        **parallel_resources("posttrain_stage"),
        mem_mb=8000,
        runtime=120,
    params:
        stage=lambda wc: config["posttrain"]["stages"][POST_STAGES.index(wc.stage)],
        n_per_task=config["posttrain"]["n_per_task"],
        seed=config["seed"],
    script:
        "../scripts/posttrain.py"


rule post_model:
    input:
        f"{RESULTS}/posttrain/{{scale}}/{POST_STAGES[-1]}" if POST_STAGES else [],
    output:
        directory(f"{RESULTS}/models/{{scale}}-post"),
    log:
        f"{RESULTS}/logs/models/{{scale}}-post.log",
    wildcard_constraints:
        scale=one_of(NAMES["built_post"]),
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    conda:
        ENV["data"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/copy_model.py"


rule reward_model:
    input:
        model=lambda wc: model_dir(f"{wc.scale}-base"),
        train=expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=TASKS),
    output:
        directory(f"{RESULTS}/posttrain/{{scale}}/reward_model"),
    log:
        f"{RESULTS}/logs/posttrain/{{scale}}-reward_model.log",
    benchmark:
        f"{RESULTS}/benchmarks/posttrain_{{scale}}_reward_model.tsv"
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    conda:
        ENV["train"]
    threads: 1  # a 2-thread job never starts on 2 busy cores while 1-thread jobs queue
    resources:
        **parallel_resources("reward_model"),
        mem_mb=8000,
        runtime=60,
    params:
        hparams=config["posttrain"]["reward_model"],
        n_per_task=config["posttrain"]["n_per_task"],
        seed=config["seed"],
    script:
        "../scripts/reward_model.py"
