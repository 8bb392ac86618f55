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


def test_results_over_the_int_to_str_limit_get_a_clear_answer() -> None:
    """Issue 13 item 17: 2**20000 has 6,021 digits, over Python's 4,300-digit int-to-str limit."""
    text = format_number(calculate("2**20000"))
    exact = 2**20000
    assert text.startswith("3.98027684033797e+6020") and "6,021 digits" in text
    assert text.endswith(f"{exact % 10**20:020d})")  # the last 20 digits, exact
    assert calculator.run({"expression": "2**20000"}).ok
    assert format_number(calculate("-(2**20000)")).startswith("-3.98")
    assert calculator.run({"expression": "2**20000 // 7 % 1000"}).content == str(exact // 7 % 1000)
    assert len(format_number(calculate("2**14000"))) == 4215  # under the limit: every digit


@pytest.mark.parametrize(("expr", "words"), [
    ("2**20000 / 3", "too large for a floating-point"),
    ("2**20000 * 1.5", "too large for a floating-point"),
    ("sqrt(2**20000)", "6,021 digits"),
    ("1" * 5000, "more than 4,300 digits"),
])
def test_huge_operands_fail_with_a_sentence(expr: str, words: str) -> None:
    with pytest.raises(ToolError, match=words) as err:
        calculate(expr)
    assert len(str(err.value)) < 400
