"""Rule scaling_newknowledge: one model fine-tuned on new people's biographies, then asked about them
(control: QA about old people; the paper's arm: QA that includes some of the new people)."""

from pathlib import Path

from sahlab.io import first_examples, read_jsonl, write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.scaling.newknowledge import new_people_qa, replay_docs, run_newknowledge, split_new_people

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
opts = p.opts
new_rows, heldout = None, None
if opts.get("n_qa_new"):
    from sahlab.world.entities import World

    world = World.from_json(Path(snakemake.input.world).read_text())
    qa_people, held = split_new_people(
        [x["id"] for x in world.new_people], opts["qa_people_fraction"], p.seed
    )
    new_rows, heldout = new_people_qa(world, qa_people, opts["n_qa_new"], p.seed), set(held)
    log.info("new people: %d with QA in the new arm, %d held out", len(qa_people), len(held))
docs = read_jsonl(snakemake.input.bios)
if opts.get("bios_replay"):
    docs += replay_docs(read_jsonl(snakemake.input.corpus), len(docs), opts["bios_replay"], p.seed)
records, results = run_newknowledge(
    snakemake.input.model,
    docs,
    first_examples(snakemake.input.qa, opts["n_qa"], "scaling.newknowledge.n_qa") if opts["n_qa"] else [],
    first_examples(snakemake.input.test, opts["n_test"], "scaling.newknowledge.n_test"),
    p.seed,
    bios_hparams=opts["bios"],
    qa_hparams=opts["qa"],
    max_new_tokens=opts["max_new_tokens"],
    batch_size=opts["batch_size"],
    n_boot=p.n_boot,
    new_qa_rows=new_rows,
    heldout=heldout,
    threads=snakemake.threads,
    work_root=snakemake.output.records,
)
write_jsonl(snakemake.output.records, records)
write_json(snakemake.output.metrics, results)
