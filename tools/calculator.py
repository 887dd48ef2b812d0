"""Arithmetic for agents, evaluated by walking the expression's syntax tree (never `eval`): numbers,
+ - * / // % **, parentheses and unary signs. Anything else is refused with the reason."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from pydantic import Field

from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}

# Integers stay below 2**1000 (about 300 digits): enough for any business figure, and it keeps a
# request like 9**9**9 from tying up the worker computing a number nobody can use.
MAX_BITS = 1000


class CalculatorArgs(ToolArgs):
    expression: str = Field(
        min_length=1, max_length=500, description="Arithmetic such as (1200 - 150) * 0.2 or 49 * 12 / 100"
    )


def _refuse(node: ast.AST) -> ToolError:
    if isinstance(node, ast.Name):
        return ToolError(f"names like {node.id!r} are not allowed; use numbers only")
    if isinstance(node, ast.Call):
        return ToolError("function calls are not allowed; use numbers and + - * / // % ** only")
    if isinstance(node, ast.Attribute):
        return ToolError("attribute access is not allowed; use numbers and + - * / // % ** only")
    if isinstance(node, ast.Constant):
        return ToolError(f"{node.value!r} is not a number; use numbers only")
    if isinstance(node, ast.Tuple):
        return ToolError("write numbers without thousands separators (1200, not 1,200)")
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return ToolError(f"operator {type(node.op).__name__} is not allowed; use + - * / // % ** only")
    return ToolError(f"{type(node).__name__} is not allowed; use numbers and + - * / // % ** only")


def _power(base: Number, exponent: Number) -> Number:
    huge = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if huge and exponent * math.log2(abs(base)) > MAX_BITS:
        raise ToolError(f"{base} ** {exponent} is too large to compute")
    return base**exponent


def _evaluate(node: ast.AST) -> Number:
    # bool is an int subclass, and True + 1 is not arithmetic anyone means.
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        result = _power(left, right) if isinstance(node.op, ast.Pow) else _BINARY[type(node.op)](left, right)
        return _check_size(result)
    raise _refuse(node)


def _check_size(value: Number) -> Number:
    """Every intermediate value, not just the answer, stays within bounds."""
    if isinstance(value, complex):  # e.g. (-8) ** 0.5
        raise ToolError("the result is not a real number")
    if (isinstance(value, int) and value.bit_length() > MAX_BITS) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise ToolError("the result is too large")
    return value


def evaluate(expression: str) -> Number:
    try:
        tree = ast.parse(expression.strip(), mode="eval")  # leading spaces are an IndentationError
    except SyntaxError:
        raise ToolError(f"{expression!r} is not a valid arithmetic expression") from None
    try:
        return _check_size(_evaluate(tree.body))
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large") from None


async def calculator(args: CalculatorArgs, _call: ToolCall) -> dict[str, object]:
    return {"expression": args.expression, "result": evaluate(args.expression)}


CALCULATOR = ToolSpec(
    name="calculator",
    description="Exact arithmetic: numbers with + - * / // % ** and parentheses. Use it for any sum, discount, "
    "proration or percentage instead of calculating in your head.",
    args=CalculatorArgs,
    run=calculator,
    risk=Risk.READ_ONLY,
    timeout_s=2.0,
)
