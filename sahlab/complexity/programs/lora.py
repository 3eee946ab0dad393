# Study B receiver "lora": the payload is zstd(quantised LoRA factors A, s·B); W += B @ A.
import json
import struct
import sys

import numpy as np
import torch
import zstandard
from transformers import AutoModelForCausalLM, AutoTokenizer


def tensors(blob):
    data = zstandard.ZstdDecompressor().decompress(blob)
    _, bits, n = struct.unpack_from("<BBI", data, 4)
    pos, out = 10 + n, {}
    for t in json.loads(data[10 : 10 + n]):
        size = int(np.prod(t["shape"]))
        if bits == 16:
            q, pos = np.frombuffer(data, "<f2", size, pos), pos + 2 * size
        elif bits == 8:
            q, pos = np.frombuffer(data, np.int8, size, pos), pos + size
        else:
            b = np.frombuffer(data, np.uint8, (size + 1) // 2, pos)
            q, pos = np.stack([b & 15, b >> 4], 1).ravel()[:size].astype(np.int8) - 8, pos + (size + 1) // 2
        w = q.astype(np.float32) * np.float32(1 if bits == 16 else t["scale"])
        out[t["name"]] = torch.from_numpy(w.reshape(t["shape"]))
    return out


def apply(model, blob):
    params, f = dict(model.named_parameters()), tensors(blob)
    with torch.no_grad():
        for m in {k.rsplit(".", 1)[0] for k in f}:
            params[m + ".weight"] += f[m + ".B"] @ f[m + ".A"]


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
