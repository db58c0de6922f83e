"""The rule language of specs and contracts: data, never code.

Segments, eligibility and payability rules come in files written by other
organisations, so a rule is parsed into a small allowed grammar and evaluated
by this module with vectorised pandas and numpy. Nothing in a rule is ever
handed to ``eval``, ``exec``, ``DataFrame.eval`` or ``DataFrame.query``.

A rule may use:

- column names (``age``, ``need_substance``), numbers, text in quotes,
  ``true``/``false`` (or ``True``/``False``);
- comparisons ``== != < <= > >=``, chained as in ``18 <= age <= 24``;
- ``and``, ``or``, ``not`` and parentheses;
- arithmetic ``+ - * /`` on numbers and flags (a true flag counts 1);
- ``column in ['a', 'b']`` and ``column not in [...]`` with a list of values;
- ``between(column, low, high)`` (both ends included), ``isna(column)`` and
  ``notna(column)``, also written ``column.between(low, high)``,
  ``column.isna()``, ``column.notna()``;
- ``count(flag, flag, ...)``: how many of the flags are true, as in
  ``count(need_accommodation, need_substance, need_mental_health) >= 2``.

Anything else (attribute access, names with double underscores, other calls,
subscripts, lambdas, comprehensions, f-strings, imports, walrus) is refused
with a :class:`~ground.errors.SpecError` naming the file, the key and the
construct. Rules longer than :data:`MAX_LENGTH` characters, with more than
:data:`MAX_NODES` parts or nested deeper than :data:`MAX_DEPTH`, are refused
too, before anything is evaluated.

A person whose value of a column the rule reads is missing is *unknown* for
the rule (``<NA>``), never false, unless the rule asks about missingness with
``isna``/``notna``.

Examples
--------
>>> import pandas as pd
>>> rule = parse("sex == 'female' and 18 <= age <= 24")
>>> rule.columns
('sex', 'age')
>>> rule.describe()
'sex is female and age is at least 18 and at most 24'
>>> rule.evaluate(pd.DataFrame({"sex": ["female", "male", None], "age": [20, 20, 20]})).tolist()
[True, False, <NA>]
>>> parse("sex.__class__ == 1", key="segments.women.where")
Traceback (most recent call last):
...
ground.errors.SpecError: segments.women.where: attribute access (.__class__) is not allowed in a rule. ...
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import shown_value
from ground.errors import SpecError

__all__ = ["Expression", "MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "parse"]

#: Longest rule accepted, in characters.
MAX_LENGTH = 1_000
#: Most parts (names, numbers, operators) a rule may have.
MAX_NODES = 250
#: Deepest nesting a rule may have.
MAX_DEPTH = 24

_GRAMMAR = (
    "a rule may use column names, numbers, text in quotes, true/false, comparisons (== != < <= > >=), "
    "and/or/not, + - * /, 'in [...]', between(), isna(), notna() and count()"
)
_GRAMMAR_SENTENCE = _GRAMMAR[0].upper() + _GRAMMAR[1:] + "."
_FUNCTIONS = {"between": (3, 3), "isna": (1, 1), "notna": (1, 1), "count": (1, None)}
_METHODS = {"between": 2, "isna": 0, "notna": 0}
_CONSTANT_NAMES = {"true": True, "false": False, "True": True, "False": False}
_COMPARE_WORDS = {
    ast.Eq: "is",
    ast.NotEq: "is not",
    ast.Lt: "is below",
    ast.LtE: "is at most",
    ast.Gt: "is above",
    ast.GtE: "is at least",
    ast.In: "is one of",
    ast.NotIn: "is not one of",
}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
# What a refused node is called in the message.
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript ([...] after a value)",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.Dict: "a dictionary",
    ast.Set: "a set",
    ast.IfExp: "if-else",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


@dataclass(frozen=True)
class Expression:
    """A parsed rule: what it reads, how it reads in words, and its value for each row.

    Build one with :func:`parse`; the tree holds only allowed constructs.

    Attributes
    ----------
    text : str
        The rule as written.
    columns : tuple of str
        The columns it reads, in order of first appearance.
    """

    text: str
    tree: ast.expr = field(repr=False, compare=False)
    columns: tuple[str, ...]
    key: str = ""
    source: str | None = None

    def describe(self) -> str:
        """The rule in words, e.g. ``'age is at least 18 and at most 24'``."""
        return _words(self.tree)

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """The rule's value for each row of ``frame``, vectorised.

        Returns
        -------
        pandas.Series
            Same index as ``frame``. A condition gives dtype ``boolean`` with
            ``<NA>`` where a column it reads (outside ``isna``/``notna``) is
            missing; a calculation gives ``float64`` with NaN there.

        Raises
        ------
        SpecError
            A column the rule reads is not in ``frame``, or the rule compares
            or adds values of the wrong kind (text with a number, say).
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            present = ", ".join(map(str, frame.columns[:20])) + (" ..." if len(frame.columns) > 20 else "")
            raise self._error(
                f"the rule {self.text!r} reads the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}, "
                f"which the table does not have (columns present: {present or 'none'})."
            )
        unknown = np.zeros(len(frame), dtype=bool)
        for column in _read_columns(self.tree):
            unknown |= frame[column].isna().to_numpy()
        value = _Evaluator(frame, self).value(self.tree)
        if isinstance(value, _Scalar) or np.ndim(value) == 0:  # a rule of constants ('a' == 'a') holds for every row
            value = np.full(len(frame), value.value if isinstance(value, _Scalar) else value)
        array = np.asarray(value)
        if array.dtype == bool:
            out = pd.Series(pd.array(array, dtype="boolean"), index=frame.index)
            out[unknown] = pd.NA
            return out
        if array.dtype.kind in "iuf":
            out = pd.Series(array.astype("float64"), index=frame.index)
            out[unknown] = np.nan
            return out
        raise self._error(f"the rule {self.text!r} gives {array.dtype} values, not true/false or numbers.")

    def _error(self, message: str) -> SpecError:
        where = ": ".join(p for p in (self.source, self.key) if p)
        return SpecError(f"{where}: {message}" if where else message, key=self.key, source=self.source)


def parse(text: str, *, key: str = "", source: str | None = None) -> Expression:
    """Parse a rule into an :class:`Expression`, refusing anything outside the grammar.

    Parameters
    ----------
    text : str
        The rule, e.g. ``"ogrs_score >= 75"``.
    key : str, optional
        Where the rule sits in its file (``"segments.women.where"``), named in errors.
    source : str, optional
        The file it came from, named in errors.

    Raises
    ------
    SpecError
        Naming the file, the key and the construct refused. Nothing in the
        rule is evaluated before it has been checked whole.

    Examples
    --------
    >>> parse("count(need_accommodation, need_substance) >= 1").columns
    ('need_accommodation', 'need_substance')
    >>> parse("__import__('os').system('x')")
    Traceback (most recent call last):
    ...
    ground.errors.SpecError: attribute access (.system) is not allowed in a rule. ...
    """
    where = ": ".join(p for p in (source, key) if p)

    def refuse(message: str) -> SpecError:
        return SpecError(f"{where}: {message}" if where else message, key=key, source=source)

    if not isinstance(text, str) or not text.strip():
        raise refuse(f"a rule must be non-empty text. Got {text!r} instead.")
    if len(text) > MAX_LENGTH:
        raise refuse(f"a rule may be at most {MAX_LENGTH:,} characters long. Got {len(text):,}.")
    if "\x00" in text:
        raise refuse("a rule may not contain NUL characters.")
    # Deeply nested text can exhaust the parser's stack before any size check on the tree.
    if _nesting(text) > MAX_DEPTH:
        raise refuse(f"a rule may be nested at most {MAX_DEPTH} deep.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = getattr(exc, "msg", None) or type(exc).__name__
        raise refuse(f"the rule {text!r} is not a valid expression ({detail}). {_GRAMMAR_SENTENCE}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise refuse(f"a rule may have at most {MAX_NODES} parts. Got {len(nodes)}.")
    _check(tree.body, refuse, depth=0)
    body = _ConstantNames().visit(tree.body)
    functions = {id(n.func) for n in ast.walk(body) if isinstance(n, ast.Call)}
    columns = tuple(dict.fromkeys(n.id for n in ast.walk(body) if isinstance(n, ast.Name) and id(n) not in functions))
    return Expression(text=text.strip(), tree=body, columns=columns, key=key, source=source)


# ---------------------------------------------------------------- checking the tree


def _nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _finite(number: int | float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:  # an int with hundreds of digits
        return False


def _check(node: ast.AST, refuse: Any, depth: int) -> None:
    """Walk the tree; raise on the first construct outside the grammar."""
    if depth > MAX_DEPTH:
        raise refuse(f"a rule may be nested at most {MAX_DEPTH} deep.")
    below = depth + 1
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or not node.id.isidentifier():
            raise refuse(f"the name {node.id!r} is not allowed in a rule (names with double underscores never are).")
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (bool, int, float, str)):
            raise refuse(f"the value {node.value!r} is not allowed in a rule; {_GRAMMAR}.")
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and not _finite(node.value):
            raise refuse(f"the number {shown_value(node.value, 40)} is too large: a rule's numbers are finite.")
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, refuse, below)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            raise refuse(f"the operator {type(node.op).__name__} is not allowed in a rule; {_GRAMMAR}.")
        _check(node.operand, refuse, below)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITHMETIC:
            raise refuse(f"the operator {type(node.op).__name__} is not allowed in a rule; {_GRAMMAR}.")
        _check(node.left, refuse, below)
        _check(node.right, refuse, below)
        return
    if isinstance(node, ast.Compare):
        _check(node.left, refuse, below)
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE_WORDS:
                raise refuse(f"the comparison {type(op).__name__} is not allowed in a rule; {_GRAMMAR}.")
            if isinstance(op, (ast.In, ast.NotIn)):
                _check_values(right, refuse)
            else:
                _check(right, refuse, below)
        return
    if isinstance(node, ast.Call):
        _check_call(node, refuse, below)
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        raise refuse("a list of values is only allowed after 'in' or 'not in'.")
    what = _REFUSED.get(type(node), type(node).__name__)
    if isinstance(node, ast.Attribute):
        what = f"attribute access (.{node.attr})"
    raise refuse(f"{what} is not allowed in a rule. {_GRAMMAR_SENTENCE}")


def _check_values(node: ast.AST, refuse: Any) -> None:
    if not isinstance(node, (ast.List, ast.Tuple)) or not all(
        isinstance(v, ast.Constant) and isinstance(v.value, (bool, int, float, str)) for v in node.elts
    ):
        raise refuse(
            "'in' and 'not in' take a list of values in square brackets, e.g. ethnicity in ['black', 'asian']."
        )


def _check_call(node: ast.Call, refuse: Any, depth: int) -> None:
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise refuse("functions in a rule take plain arguments, no keywords or unpacking.")
    func = node.func
    if isinstance(func, ast.Name) and func.id in _FUNCTIONS:
        least, most = _FUNCTIONS[func.id]
        if len(node.args) < least or (most is not None and len(node.args) > most):
            count = f"{least}" if least == most else f"at least {least}"
            raise refuse(f"{func.id}() takes {count} argument{'s' if least != 1 else ''}. Got {len(node.args)}.")
        if func.id in ("isna", "notna", "count") and not all(isinstance(a, ast.Name) for a in node.args):
            raise refuse(f"{func.id}() takes column names.")
        for arg in node.args:
            _check(arg, refuse, depth)
        return
    if isinstance(func, ast.Attribute) and func.attr in _METHODS and isinstance(func.value, ast.Name):
        if len(node.args) != _METHODS[func.attr]:
            raise refuse(f".{func.attr}() takes {_METHODS[func.attr]} argument(s). Got {len(node.args)}.")
        _check(func.value, refuse, depth)
        for arg in node.args:
            _check(arg, refuse, depth)
        return
    name = func.id if isinstance(func, ast.Name) else (f".{func.attr}" if isinstance(func, ast.Attribute) else "")
    if isinstance(func, ast.Attribute):
        raise refuse(f"attribute access ({name}) is not allowed in a rule. {_GRAMMAR_SENTENCE}")
    raise refuse(f"the call {name or 'to an expression'}() is not allowed in a rule. {_GRAMMAR_SENTENCE}")


class _ConstantNames(ast.NodeTransformer):
    """``true``/``false`` as constants; method calls as function calls (``age.isna()`` -> ``isna(age)``)."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _CONSTANT_NAMES:
            return ast.copy_location(ast.Constant(_CONSTANT_NAMES[node.id]), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            call = ast.Call(func=ast.Name(node.func.attr, ast.Load()), args=[node.func.value, *node.args], keywords=[])
            return ast.copy_location(call, node)
        return node


def _function(call: ast.Call) -> str:
    """The name of the function a rule calls (the grammar allows only named functions; ``parse`` checked it)."""
    return call.func.id if isinstance(call.func, ast.Name) else ""


def _column(node: ast.expr) -> str:
    """The column a checked rule names where the grammar allows only a name."""
    return node.id if isinstance(node, ast.Name) else ""


def _elements(node: ast.expr) -> list[ast.expr]:
    """The items of a checked rule's list or tuple of literals (``x in ("a", "b")``)."""
    return list(node.elts) if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else []


def _constant(node: ast.expr) -> object:
    """The value of a checked rule's literal."""
    return node.value if isinstance(node, ast.Constant) else None


def _read_columns(tree: ast.AST) -> list[str]:
    """Columns whose missing values make the rule unknown: all but those only inside isna/notna."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    skipped = {id(n.func) for n in calls} | {id(a) for n in calls if _function(n) in ("isna", "notna") for a in n.args}
    return list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in skipped))


# ---------------------------------------------------------------- evaluating


@dataclass(frozen=True)
class _Scalar:
    value: Any


class _Evaluator:
    """Values of the nodes of a checked tree over one frame: numpy arrays or scalars."""

    def __init__(self, frame: pd.DataFrame, expression: Expression) -> None:
        self.frame = frame
        self.expression = expression

    def fail(self, message: str) -> SpecError:
        return self.expression._error(f"the rule {self.expression.text!r} {message}")

    def value(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Scalar:
        return _Scalar(node.value)

    def _Name(self, node: ast.Name) -> np.ndarray:
        values = self.frame[node.id]
        if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.BooleanDtype):
            return values.to_numpy(dtype=bool, na_value=False)
        if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
            return values.to_numpy(dtype="float64", na_value=np.nan)
        if pd.api.types.is_datetime64_any_dtype(values):
            raise self.fail(f"reads the date column {node.id!r}; rules compare numbers, flags and text.")
        known = values.dropna()
        if len(known) and known.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            # flags with gaps arrive as objects: True/False/None
            return values.map({True: 1.0, False: 0.0}).to_numpy(dtype="float64", na_value=np.nan)
        return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)

    def _numbers(self, value: Any, what: str) -> Any:
        raw = value.value if isinstance(value, _Scalar) else value
        kind = np.asarray(raw).dtype.kind
        if kind == "O" or isinstance(raw, str):
            raise self.fail(f"uses text in {what}; only numbers and flags can be added, compared by size or counted.")
        return np.asarray(raw, dtype="float64") if kind == "b" else raw

    def _flags(self, value: Any, what: str) -> np.ndarray:
        raw = value.value if isinstance(value, _Scalar) else value
        array = np.asarray(raw)
        if array.dtype == bool:
            return array
        if array.dtype.kind in "iuf" and np.isin(array[~np.isnan(array.astype("float64"))], (0, 1)).all():
            return np.asarray(array == 1)  # 0/1 flags; a missing one makes the row unknown, whatever it reads here
        raise self.fail(f"uses {what} on something that is not true/false (or 0/1).")

    def _BoolOp(self, node: ast.BoolOp) -> np.ndarray:
        word = "and" if isinstance(node.op, ast.And) else "or"
        parts = [self._flags(self.value(v), f"'{word}'") for v in node.values]
        combine = np.logical_and if word == "and" else np.logical_or
        out = parts[0]
        for part in parts[1:]:
            out = combine(out, part)
        return out

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return np.logical_not(self._flags(value, "'not'"))
        number = self._numbers(value, "a sign")
        return -number if isinstance(node.op, ast.USub) else +number

    def _BinOp(self, node: ast.BinOp) -> Any:
        symbol = _ARITHMETIC[type(node.op)]
        left = self._numbers(self.value(node.left), f"'{symbol}'")
        right = self._numbers(self.value(node.right), f"'{symbol}'")
        with np.errstate(divide="ignore", invalid="ignore"):
            if symbol == "+":
                return left + right
            if symbol == "-":
                return left - right
            if symbol == "*":
                return left * right
            return np.true_divide(left, right)

    def _Compare(self, node: ast.Compare) -> np.ndarray:
        out: np.ndarray | None = None
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                result = self._member(left, [_constant(v) for v in _elements(right_node)], isinstance(op, ast.NotIn))
                right = None
            else:
                right = self.value(right_node)
                result = self._compare(left, op, right)
            out = result if out is None else np.logical_and(out, result)
            left = right
        assert out is not None  # a comparison has at least one operator
        return out

    def _member(self, left: Any, values: list[Any], negate: bool) -> np.ndarray:
        raw = np.asarray(left.value if isinstance(left, _Scalar) else left)
        if raw.dtype.kind in "fiub":
            numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            found = (
                np.isin(raw.astype("float64"), np.asarray(numbers, dtype="float64"))
                if numbers
                else np.zeros(raw.shape, dtype=bool)
            )
        else:
            found = pd.Series(raw.ravel()).isin([v for v in values if isinstance(v, str)]).to_numpy().reshape(raw.shape)
        return np.logical_not(found) if negate else found

    def _compare(self, left: Any, op: ast.cmpop, right: Any) -> np.ndarray:
        a = left.value if isinstance(left, _Scalar) else left
        b = right.value if isinstance(right, _Scalar) else right
        a_text, b_text = _is_text(a), _is_text(b)
        if a_text != b_text:
            raise self.fail("compares text with a number or a flag; put text in quotes and numbers without.")
        if a_text and not isinstance(op, (ast.Eq, ast.NotEq)):
            raise self.fail("compares text by size; text can only be equal (==) or not equal (!=).")
        if a_text:
            equal = np.asarray(np.asarray(a, dtype=object) == np.asarray(b, dtype=object), dtype=bool)
            return equal if isinstance(op, ast.Eq) else np.logical_not(equal)
        a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
        with np.errstate(invalid="ignore"):
            return np.asarray(
                {
                    ast.Eq: np.equal,
                    ast.NotEq: np.not_equal,
                    ast.Lt: np.less,
                    ast.LtE: np.less_equal,
                    ast.Gt: np.greater,
                    ast.GtE: np.greater_equal,
                }[type(op)](a, b)
            )

    def _Call(self, node: ast.Call) -> Any:
        name = _function(node)
        if name in ("isna", "notna"):
            missing = self.frame[_column(node.args[0])].isna().to_numpy()
            return missing if name == "isna" else np.logical_not(missing)
        if name == "count":
            return np.sum([self._flags(self.value(a), "count()").astype("int64") for a in node.args], axis=0)
        value, low, high = (self._numbers(self.value(a), "between()") for a in node.args)
        with np.errstate(invalid="ignore"):
            return np.logical_and(np.greater_equal(value, low), np.less_equal(value, high))


def _is_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind == "O"


# ---------------------------------------------------------------- words


def _label(name: str) -> str:
    return name.replace("_", " ")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _words(node: ast.AST, parent: type | None = None) -> str:
    if isinstance(node, ast.Name):
        return _label(node.id)
    if isinstance(node, ast.Constant):
        return _literal(node.value)
    if isinstance(node, ast.BoolOp):
        word = " and " if isinstance(node.op, ast.And) else " or "
        text = word.join(_words(v, type(node.op)) for v in node.values)
        return f"({text})" if parent is not None and parent is not type(node.op) else text
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return f"not ({_words(node.operand)})"
        return f"-{_words(node.operand, ast.UnaryOp)}" if isinstance(node.op, ast.USub) else _words(node.operand)
    if isinstance(node, ast.BinOp):
        text = f"{_words(node.left, ast.BinOp)} {_ARITHMETIC[type(node.op)]} {_words(node.right, ast.BinOp)}"
        return f"({text})" if parent is ast.BinOp else text
    if isinstance(node, ast.Compare):
        return _compare_words(node)
    if isinstance(node, ast.Call):
        args = node.args
        if _function(node) == "isna":
            return f"{_words(args[0])} is missing"
        if _function(node) == "notna":
            return f"{_words(args[0])} is recorded"
        if _function(node) == "between":
            return f"{_words(args[0])} is between {_words(args[1])} and {_words(args[2])}"
        return "the number of " + _listed([_words(a) for a in args]) + " that are true"
    return ast.unparse(node)  # pragma: no cover - the grammar has no other nodes


def _listed(items: Sequence[str], conjunction: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _compare_words(node: ast.Compare) -> str:
    left = node.left
    # count(a, b, c) >= 2 reads "at least 2 of a, b and c"
    if (
        isinstance(left, ast.Call)
        and _function(left) == "count"
        and len(node.ops) == 1
        and isinstance(node.comparators[0], ast.Constant)
    ):
        bound = {
            ast.GtE: "at least",
            ast.Gt: "more than",
            ast.LtE: "at most",
            ast.Lt: "fewer than",
            ast.Eq: "exactly",
            ast.NotEq: "other than",
        }[type(node.ops[0])]
        return f"{bound} {_literal(node.comparators[0].value)} of {_listed([_words(a) for a in left.args])}"
    parts = []
    subject = left
    for i, (op, right) in enumerate(zip(node.ops, node.comparators)):
        if isinstance(op, (ast.In, ast.NotIn)):
            phrase = f"{_COMPARE_WORDS[type(op)]} {_listed([_literal(_constant(v)) for v in _elements(right)], 'or')}"
        else:
            phrase = f"{_COMPARE_WORDS[type(op)]} {_words(right, ast.Compare)}"
        if i == 0 and len(node.ops) == 2 and isinstance(right, ast.Name) and not isinstance(op, (ast.In, ast.NotIn)):
            # "18 <= age <= 24": say it of the column in the middle
            flipped = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}.get(type(op), type(op))
            parts.append(f"{_words(right)} {_COMPARE_WORDS[flipped]} {_words(subject, ast.Compare)}")
            subject = right
            continue
        if i == 0:
            parts.append(f"{_words(subject, ast.Compare)} {phrase}")
        elif len(node.ops) == 2 and isinstance(node.comparators[0], ast.Name):
            parts.append(f"and {phrase.removeprefix('is ')}")
        else:
            parts.append(f"and {_words(subject, ast.Compare)} {phrase}")
        subject = right
    return " ".join(parts)
