"""A router chain: pick a sub-chain by embedding similarity of the input to route descriptions.

`embed` is any callable texts -> np.ndarray; here the packaged knowledge-base embedder when it is
installed, else a tiny character-bigram embedding so the example runs anywhere.

    .venv/bin/python examples/chain_router.py "What is 12 squared plus 5?"
"""

import sys
import zlib

import numpy as np

from lingxi.agents import Agent, calculator, prompt, router, transform


def bigram_embed(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 512))
    for i, t in enumerate(texts):
        t = t.lower()
        for a, b in zip(t, t[1:]):
            out[i, zlib.crc32((a + b).encode()) % 512] += 1
    return out


try:
    from lingxi.knowledge.embed import get_embedder

    embed = get_embedder("e5").embed
except Exception:  # the knowledge extra is not installed: fall back to bigrams
    embed = bigram_embed

model = "smollm2"
routes = {
    "math": ("arithmetic, numbers, calculate, sum, squared, plus, times", Agent(model, [calculator], max_steps=2)),
    "poem": ("write a poem, verse, rhyme, poetry", prompt(model, "Write a four-line poem about: {input}")),
    "translate": ("translate this sentence into Chinese", prompt(model, "翻译成中文：{input}")),
}
pick = router(routes, embed=embed, default=transform(lambda s: "I can do maths, poems and translations."))
text = sys.argv[1] if len(sys.argv) > 1 else "What is 12 squared plus 5?"
print("route:", pick.choose(text))
print(pick(text))
