"""A sequential chain, as in the seeds: translate → answer → translate back, plus a Python transform step.

    .venv/bin/python examples/chain_sequential.py "法国的首都是哪里？"
"""

import sys

from lingxi.agents import prompt, sequential, transform

model = "smollm2"  # any alias, .gguf path or http://…/v1 URL
to_english = prompt(model, "Translate into English. Reply with the translation only.\n\n{input}", max_tokens=64)
answer = prompt(model, "Answer in one short sentence.\n\n{input}", max_tokens=64)
to_chinese = prompt(model, "把下面的英文翻译成中文，只输出译文。\n\n{input}", max_tokens=64)
tidy = transform(lambda text: text.strip().strip('"'))

chain = sequential(to_english, answer, to_chinese, tidy)
print(chain(sys.argv[1] if len(sys.argv) > 1 else "法国的首都是哪里？"))
