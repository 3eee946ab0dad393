# results/SUMMARY.md: every study's tables in one generated file (the README links here, so it
# quotes no number the pipeline does not write).


rule summary:
    input:
        tables=[rules.stages_table.output.md] + [p for p in STUDY_TARGETS if p.endswith(".md")],
        provenance=f"{RESULTS}/provenance.json",
    output:
        f"{RESULTS}/SUMMARY.md",
    log:
        f"{RESULTS}/logs/tables/summary.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        bench_dir=f"{RESULTS}/benchmarks",
    script:
        "../scripts/summary.py"
