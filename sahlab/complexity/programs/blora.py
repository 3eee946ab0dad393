# Study B receiver "blora": the payload is zstd(integer codes of BLoRA's factors A, E, B at their
# learned widths and ranks, each with its step); W += B @ (E * A).
import json
import sys

import numpy as np
import torch
import zstandard
from transformers import AutoModelForCausalLM, AutoTokenizer


def tensors(blob):
    data = zstandard.ZstdDecompressor().decompress(blob)
    n = int.from_bytes(data[:4], "little")
    pos, out = 4 + n, {}
    for t in json.loads(data[4 : 4 + n]):
        q = np.frombuffer(data, t["dtype"], int(np.prod(t["shape"])), pos)
        pos += q.nbytes
        out[t["name"]] = torch.from_numpy((q * t["scale"]).astype(np.float32).reshape(t["shape"]))
    return out


def apply(model, blob):
    params, f = dict(model.named_parameters()), tensors(blob)
    with torch.no_grad():
        for m in {k.rsplit(".", 1)[0] for k in f}:
            params[m + ".weight"] += f[m + ".B"] @ (f[m + ".E"] * f[m + ".A"])


if __name__ == "__main__":
    model_dir, payload, queries = sys.argv[1:4]
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    apply(model, open(payload, "rb").read())
    tok = AutoTokenizer.from_pretrained(model_dir)
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
