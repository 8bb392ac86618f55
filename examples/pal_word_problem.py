"""Program-aided solving: the model writes solution(), the sandbox runs it (never this process).

    .venv/bin/python examples/pal_word_problem.py
"""

from lingxi.agents import pal

for question in [
    "Olivia has 23 dollars. She buys 5 bagels at 3 dollars each. How much money is left?",
    "小明有15个苹果，吃了3个，又买了8个。他现在有几个苹果？",
]:
    r = pal(question, "smollm2")
    print(question, "->", r.answer, f"(tries: {r.tries})")
    print(r.code, "\n")
