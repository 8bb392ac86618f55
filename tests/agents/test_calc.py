from __future__ import annotations

import pytest

from lingxi.agents.builtins import calculator
from lingxi.agents.calc import calculate, format_number
from lingxi.errors import ToolError


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("2**100 + 17 * 3", "1267650600228229401496703205427"),
        ("2^10", "1024"),
        ("7 / 2", "3.5"),
        ("6 / 3", "2"),
        ("(1 + 2) × 3 ÷ 4", "2.25"),
        ("sqrt(16) + abs(-1)", "5"),
        ("-(3 - 5) ** 2 % 3", "2"),
        ("round(pi, 3)", "3.142"),
        ("１２＋３", "15"),
        ("10 // 3 =", "3"),
    ],
)
def test_exact_arithmetic(expr: str, expected: str) -> None:
    assert format_number(calculate(expr)) == expected


@pytest.mark.parametrize(
    "expr",
    ["__import__('os').system('id')", "open('/etc/passwd')", "(1).__class__", "[x for x in range(9)]",
     "9**9**9", "10**200000", "1/0", "lambda: 1", "a + 1", ""],
)
def test_refuses_anything_but_arithmetic(expr: str) -> None:
    with pytest.raises(ToolError):
        calculate(expr)


def test_calculator_tool_reports_errors_as_results() -> None:
    assert calculator.run({"expression": "2**100 + 17 * 3"}).content == "1267650600228229401496703205427"
    bad = calculator.run({"expression": "__import__('os')"})
    assert not bad.ok and "not allowed" in bad.content
