"""A safe calculator: arithmetic by walking the AST, never `eval`.

Integers are exact and unbounded (2**100 + 51 is exact), but results are capped
at MAX_BITS so that `9**9**9` is refused instead of eating the machine. `^` means
power (as people write it), `×`/`÷` and full-width digits are accepted.

Integers longer than Python's int-to-str limit (4,300 digits: `2**20000` has 6,021)
are written as a short exact summary: scientific notation, the digit count and the
first and last digits (decimal converts them without the limit).
"""

from __future__ import annotations

import ast
import decimal
import math
import operator
import sys
import unicodedata
from typing import Any

from lingxi.errors import ToolError

MAX_BITS = 100_000
_HINT = "use numbers, + - * / // % ** ( ), and functions such as sqrt, log, sin, round, abs, factorial"

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: None}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_FUNCS: dict[str, Any] = {
    name: getattr(math, name)
    for name in ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
                 "sinh", "cosh", "tanh", "ceil", "floor", "gcd", "lcm", "comb", "perm", "degrees", "radians",
                 "hypot", "isqrt", "factorial")
} | {"abs": abs, "round": round, "min": min, "max": max, "int": int, "float": float, "ln": math.log}
_CONSTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_TRANSLATE = str.maketrans({"×": "*", "÷": "/", "^": "**", "−": "-"})


def calculate(expression: str) -> int | float | bool:
    """Evaluate an arithmetic expression exactly where possible."""
    text = unicodedata.normalize("NFKC", expression).translate(_TRANSLATE).strip().rstrip("=").strip()
    if not text:
        raise ToolError("The expression is empty.", _HINT)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as exc:
        msg = getattr(exc, "msg", str(exc))
        if "Exceeds the limit" in msg:  # a literal over the int-to-str limit
            raise ToolError(f"A number in the expression has more than {_digit_limit():,} digits, more than the "
                            "calculator reads.", "write big numbers as powers, such as 2**20000") from None
        raise ToolError(f"'{_cut(expression)}' is not an arithmetic expression: {msg}.", _HINT) from None
    return _eval(tree.body)


def format_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return repr(round(value, 12))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * _digit_limit():
        return _big_int(value)
    return str(value)


def _digit_limit() -> int:
    return sys.get_int_max_str_digits() or 4300


def _big_int(value: int) -> str:
    """Every digit up to the int-to-str limit, else `3.98027684033797e+6020 (6,021 digits: 39802768…3406309376)`."""
    digits = str(decimal.Decimal(abs(value)))
    sign = "-" if value < 0 else ""
    if len(digits) <= _digit_limit():
        return sign + digits
    return (f"{decimal.Decimal(value):.14e} (an exact integer of {len(digits):,} digits: "
            f"{sign}{digits[:20]}…{digits[-20:]})")


def _cut(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _short(args: list[Any]) -> str:
    def one(a: Any) -> str:
        if isinstance(a, int) and a.bit_length() > 100:
            return f"<an integer of about {int(a.bit_length() * 0.30103) + 1:,} digits>"
        return _cut(format_number(a), 30)

    return "(" + ", ".join(one(a) for a in args) + ")"


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTS:
        return _CONSTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        if isinstance(node.op, ast.Mult):
            _check_size(_bits(left) + _bits(right))
        try:
            return _BIN[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ToolError("Division by zero.", "check the divisor") from None
        except OverflowError:
            raise ToolError("The result is too large for a floating-point number.",
                            "keep big numbers integers: // divides them exactly") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
        return _CMP[type(node.ops[0])](_eval(node.left), _eval(node.comparators[0]))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _call(node.func.id, [_eval(a) for a in node.args])
    raise ToolError(f"'{_cut(ast.unparse(node))}' is not allowed in the calculator.", _HINT)


def _call(name: str, args: list[Any]) -> Any:
    if name in ("comb", "perm", "factorial") and args and isinstance(args[0], int) and args[0] > 20_000:
        raise ToolError(f"{name}({args[0]}, …) is too large for the calculator.", "use smaller numbers")
    try:
        return _FUNCS[name](*args)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ToolError(f"{name}{_short(args)} failed: {exc}.", _HINT) from None


def _power(base: Any, exp: Any) -> Any:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        _check_size(exp * abs(base).bit_length())
    try:
        return base**exp
    except OverflowError:
        raise ToolError("The result is too large for a floating-point number.", "use integers for exact big powers") from None
    except ZeroDivisionError:
        raise ToolError("Zero cannot be raised to a negative power.", "check the exponent") from None


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 64


def _check_size(bits: int) -> None:
    if bits > MAX_BITS:
        raise ToolError(f"The result would have about {bits * 0.30103:,.0f} digits, more than the calculator allows.",
                        f"keep results under {MAX_BITS} bits (~{int(MAX_BITS * 0.30103):,} digits)")
