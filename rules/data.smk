# The embedded world, its pre-training corpus and every task's train/test split.


rule world:
    output:
        f"{RESULTS}/data/world/world.json",
    log:
        f"{RESULTS}/logs/data/world.log",
    conda:
        ENV["data"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        world=config["world"],
        seed=config["seed"],
    script:
        "../scripts/world.py"


rule corpus:
    input:
        world=rules.world.output[0],
    output:
        train=f"{RESULTS}/data/corpus/train.jsonl",
        val=f"{RESULTS}/data/corpus/val.jsonl",
    log:
        f"{RESULTS}/logs/data/corpus.log",
    conda:
        ENV["data"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        world=config["world"],
        seed=config["seed"],
    script:
        "../scripts/corpus.py"


rule task_data:
    input:
        world=rules.world.output[0],
        local=lambda wc: local_data_files(config["tasks"].get(wc.task, {})),
    output:
        train=f"{RESULTS}/data/tasks/{{task}}/train.jsonl",
        test=f"{RESULTS}/data/tasks/{{task}}/test.jsonl",
    log:
        f"{RESULTS}/logs/data/task_{{task}}.log",
    conda:
        ENV["data"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        spec=lambda wc: config["tasks"].get(wc.task, {"source": "embedded"}),
        world=config["world"],
        seed=config["seed"],
    script:
        "../scripts/task_data.py"
