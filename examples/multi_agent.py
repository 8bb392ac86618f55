"""A supervisor delegating to sub-agents exposed as tools.

For a real division of labour point `model` at a capable endpoint, e.g.
`openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1`; the embedded 135M model is only a demo.

    .venv/bin/python examples/multi_agent.py
"""

from lingxi.agents import Agent, calculator, now, python_tool, supervisor

model = "smollm2"
mathematician = Agent(model, [calculator], name="mathematician", description="does exact arithmetic", max_steps=3)
programmer = Agent(model, [python_tool()], name="programmer", description="writes and runs Python", max_steps=3)
clock = Agent(model, [now], name="clock", description="knows the current date and time", max_steps=2)

boss = supervisor(model, [mathematician, programmer, clock], max_steps=4)
result = boss.run("What is 2**64 - 1?")
print(result.format_trace())
print("answer:", result.answer)
