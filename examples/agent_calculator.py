"""An agent with a calculator and a Python sandbox, on the embedded default model.

    .venv/bin/python examples/agent_calculator.py "What is 2**100 + 17 * 3?"
"""

import sys

from lingxi.agents import Agent, calculator, python_tool

task = sys.argv[1] if len(sys.argv) > 1 else "What is 2**100 + 17 * 3?"
agent = Agent("smollm2", tools=[calculator, python_tool()], max_steps=4)
result = agent.run(task)
print(result.format_trace())
print("answer:", result.answer)
