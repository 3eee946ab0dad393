# Study B receiver "icl": the payload is the demonstration text, read before every query
# (after its "context": what the prompt format puts first by itself, e.g. a system prompt).
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

if __name__ == "__main__":
    model_dir, payload, queries = sys.argv[1:4]
    demos = open(payload, encoding="utf-8").read()
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    for q in map(json.loads, open(queries)):
        ids = tok(
            q.get("context", "") + demos + q["prompt"], add_special_tokens=False, return_tensors="pt"
        ).input_ids
        with torch.no_grad():
            gen = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=q["max_new_tokens"],
                pad_token_id=tok.pad_token_id,
            )
        text = tok.decode(gen[0, ids.shape[1] :], skip_special_tokens=True)
        for s in q["stop"]:
            text = text.split(s)[0]
        print(json.dumps(text))
