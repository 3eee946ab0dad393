# Study B receiver "online" (data as program, the paper's single-pass online code): the payload is
# a header {"lr"} and N training texts (prompt + answer, as the model reads them). The receiver
# decodes text i with the model trained on texts < i, then takes one AdamW step on it; the sender
# runs the same loop, so text i costs -log2 p(text i | model after i steps) bits.
import json
import math
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def online(model, tok, texts, lr, bits=None, every=None):
    """One AdamW step per text, in order; appends each text's code length (bits, before its
    step) to `bits` and calls every(i + 1) after each step when given."""
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for i, text in enumerate(texts):
        ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
        loss = model(ids, labels=ids).loss
        if bits is not None:
            bits.append(loss.item() * (ids.shape[1] - 1) / math.log(2))
        loss.backward()
        opt.step()
        opt.zero_grad()
        if every:
            every(i + 1)
    model.eval()


if __name__ == "__main__":
    model_dir, payload, queries = sys.argv[1:4]
    head, *rows = map(json.loads, open(payload, encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    online(model, tok, [r["text"] for r in rows], head["lr"])
    for q in map(json.loads, open(queries)):
        ids = tok(q["prompt"], add_special_tokens=False, return_tensors="pt").input_ids
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
