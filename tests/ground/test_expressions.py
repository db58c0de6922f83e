"""Specs are data, never code: every way a rule could run code is refused, and nothing runs.

Rules (segments, eligibility, payability) come in files written by other
organisations. Each escape below is refused by ``ground.expressions.parse`` with
a SpecError naming the file, the key and the construct; a canary file that the
escape would create never appears, and a sentinel function reachable from the
data is never called. The last tests drive the same escapes through a spec file
and the command line, where the issue found them.
"""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohorts.segments import Segment, assign, segments_from_toml
from ground.errors import SpecError
from ground.expressions import MAX_DEPTH, MAX_LENGTH, MAX_NODES, Expression, parse

ROOT = Path(__file__).resolve().parents[2]
CALLS: list[str] = []


def sentinel(*args, **kwargs):
    """Reachable from the data frame below; a rule that managed to call it would record the call."""
    CALLS.append("called")
    return 0


@pytest.fixture
def canary(tmp_path) -> Path:
    CALLS.clear()
    return tmp_path / "canary"


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame({"sex": ["female", "male"], "age": [19, 40], "sentinel": [sentinel, sentinel]})


def escapes(canary: Path) -> dict[str, tuple[str, str]]:
    """name -> (rule, the construct the message must name)."""
    touch = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    return {
        "the issue's __globals__ rule": (
            "sex.__class__.__init__.__globals__['sys'].modules['os'].system('touch " + str(canary) + "') == 0",
            "attribute access",
        ),
        "__import__ call": (touch, "attribute access"),
        "__import__ as a function": (f"__import__('os') == {touch!r}", "the call __import__() is not allowed"),
        "bare __import__": ("__import__ == 1", "'__import__' is not allowed"),
        "attribute access": ("sex.upper() == 'FEMALE'", "attribute access (.upper)"),
        "dunder name": ("__builtins__ == 1", "'__builtins__' is not allowed"),
        "builtin call": (f"open({str(canary)!r}, 'w') == 1", "the call open() is not allowed"),
        "eval call": (f"eval({touch!r}) == 1", "the call eval() is not allowed"),
        "calling a column": ("sentinel() == 0", "the call sentinel() is not allowed"),
        "getattr": ("getattr(sex, '__class__') == 1", "the call getattr() is not allowed"),
        "lambda": ("(lambda: sentinel())() == 0", "the call to an expression() is not allowed"),
        "plain lambda": ("lambda x: x", "a lambda"),
        "list comprehension": ("[sentinel() for _ in [1]] == [0]", "a comprehension"),
        "generator": ("count(x for x in age) > 1", "count() takes column names"),
        "import statement": ("import os", "not a valid expression"),
        "exec statement": (f"exec({touch!r})", "the call exec() is not allowed"),
        "f-string": ("f'{sentinel()}' == '0'", "an f-string"),
        "subscript on an object": ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
        "subscript on a column": ("sex[0] == 'f'", "a subscript"),
        "walrus": ("(x := 1) == 1", "assignment (:=)"),
        "keyword argument": ("between(age, low=1, high=2)", "no keywords"),
        "starred argument": ("count(*[age]) >= 1", "no keywords or unpacking"),
        "dictionary": ("{'a': 1} == 1", "a dictionary"),
        "if-else": ("1 if sentinel() else 0", "if-else"),
        "bytes": ("sex == b'female'", "the value b'female' is not allowed"),
        "ellipsis": ("sex == ...", "the value Ellipsis is not allowed"),
        "list outside 'in'": ("[1, 2] == age", "only allowed after 'in'"),
        "call inside 'in'": ("age in [sentinel()]", "take a list of values"),
        "bitwise operator": ("age | 1", "the operator BitOr is not allowed"),
        "power": ("age ** 999999999", "the operator Pow is not allowed"),
        "very long": ("age + " * (MAX_LENGTH // 6 + 1) + "1 > 0", f"at most {MAX_LENGTH:,} characters"),
        "deeply nested": ("(" * (MAX_DEPTH + 1) + "age" + ")" * (MAX_DEPTH + 1) + " > 1", "nested at most"),
        "nested without brackets": ("not " * (MAX_DEPTH + 2) + "age > 1", "nested at most"),
        "too many parts": (" + ".join(["age"] * 130) + " > 1", f"at most {MAX_NODES} parts"),
        "NUL character": ("age > 1\x00", "NUL"),
        "empty": ("   ", "non-empty"),
    }


def test_every_escape_is_refused_naming_file_key_and_construct(canary, people):
    cases = escapes(canary)
    assert len(cases) >= 11
    for name, (rule, construct) in cases.items():
        with pytest.raises(SpecError) as info:
            parse(rule, key="segments.women.where", source="provider_spec.toml")
        message = str(info.value)
        assert message.startswith("provider_spec.toml: segments.women.where: "), (name, message)
        assert construct in message, (name, construct, message)
        assert info.value.key == "segments.women.where" and info.value.source == "provider_spec.toml"
        # the same rule as a segment is refused when it is written, before any data is seen
        with pytest.raises(SpecError):
            assign(people, {"women": rule})
    assert not canary.exists()
    assert CALLS == []


def test_the_issues_rule_through_a_spec_file_and_the_command_line(canary, tmp_path):
    from typer.testing import CliRunner

    from desist.cli import app

    rule, _ = escapes(canary)["the issue's __globals__ rule"]
    spec = (ROOT / "examples" / "specs" / "intermediate.toml").read_text()
    bad = tmp_path / "s.toml"
    bad.write_text(spec.replace("""where = "sex == 'female'\"""", f'where = "{rule}"'))
    assert rule in bad.read_text()
    result = CliRunner().invoke(
        app, ["price", "--spec", str(bad), "--history", str(ROOT / "examples" / "data" / "history.csv")]
    )
    assert result.exit_code == 1, result.output
    assert "s.toml" in result.stderr and "segments.women.where" in result.stderr
    assert "attribute access (.system) is not allowed" in result.stderr
    assert "history.csv" not in result.stderr  # the spec is to blame, not the data
    assert "Traceback" not in result.output + result.stderr
    assert not canary.exists()


def test_a_segments_file_with_an_escape_is_refused_on_reading(canary, tmp_path):
    path = tmp_path / "segments.toml"
    rule = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    path.write_text(f'[segments.young]\nwhere = "{rule}"\n')
    with pytest.raises(SpecError, match=r"segments\.toml: segments\.young\.where: attribute access \(\.touch\)"):
        segments_from_toml(path)
    assert not canary.exists()


def test_allowed_rules_evaluate_without_calling_anything_in_the_data(people):
    rule = parse("sex == 'female' and between(age, 18, 24) and notna(sentinel)")
    assert rule.evaluate(people).tolist() == [True, False]
    assert CALLS == []


# Any text at all: a rule is either refused with a SpecError or holds only allowed constructs.
ALLOWED_NODES = (
    "Name Constant BoolOp And Or UnaryOp Not USub UAdd BinOp Add Sub Mult Div Compare Eq NotEq Lt LtE Gt GtE "
    "In NotIn Call List Tuple Load"
).split()
ALPHABET = string.ascii_letters[:8] + string.digits[:4] + " _'\"()[].,:=<>!+-*/%&|^~@{}\\#`$;\n" + "\x00é"
TOKENS = [
    "age",
    "sex",
    "__class__",
    "__import__",
    ".",
    "(",
    ")",
    "[",
    "]",
    "'x'",
    "1",
    " and ",
    " or ",
    "not ",
    " == ",
    " in ",
    "lambda x: ",
    " for x in ",
    "f'{",
    "}'",
    ",",
    "between",
    "count",
    "isna",
    ":=",
    "**",
]


@given(st.one_of(st.text(alphabet=ALPHABET, max_size=60), st.lists(st.sampled_from(TOKENS), max_size=14).map("".join)))
def test_any_text_is_refused_or_holds_only_allowed_constructs(text):
    import ast

    try:
        rule = parse(text, key="k")
    except SpecError as exc:
        assert str(exc).startswith("k: ")
        return
    assert isinstance(rule, Expression)
    kinds = {type(node).__name__ for node in ast.walk(rule.tree)}
    assert kinds <= set(ALLOWED_NODES), kinds - set(ALLOWED_NODES)
    assert not any(name.startswith("__") for name in rule.columns)


def test_segments_in_python_are_parsed_the_same_way(canary):
    with pytest.raises(SpecError, match="attribute access"):
        Segment("x", f"__import__('pathlib').Path({str(canary)!r}).touch()")
    assert not canary.exists()


def test_a_price_key_that_is_python_never_runs_through_a_difficulty_model(canary, tmp_path):
    """The exploit this issue found beyond rules: a spec's price key and a history column of that name
    reached statsmodels' formula engine (which evaluates Python) in ``desist simulate --covariates``."""
    import pandas as pd

    from tests.running import desist

    key = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    spec = (ROOT / "examples" / "specs" / "intermediate.toml").read_text()
    evil = tmp_path / "spec.toml"
    evil.write_text(spec.replace('price_key = "ete"', f'price_key = "{key}"').replace("ete = 400", f'"{key}" = 400'))
    history = pd.read_csv(ROOT / "examples" / "data" / "history.csv").rename(columns={"ete": key})
    history.to_csv(tmp_path / "history.csv", index=False)
    cohort = ROOT / "examples" / "data" / "people.csv"
    args = ["simulate", "--spec", evil, "--cohort", cohort, "--history", tmp_path / "history.csv"]
    run = desist(*args, "--covariates", "age,ogrs_score", "--draws", "20")
    # The key is only a name: the simulation runs on it, and nothing it spells is executed.
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert "Payment structure" in run.stdout
    assert not canary.exists()


def test_a_covariate_named_like_python_is_only_looked_up(canary, tmp_path):
    import pandas as pd

    from tests.running import desist

    name = f"__import__('pathlib').Path({str(canary)!r}).touch()"  # no comma: --covariates splits on commas
    data = pd.read_csv(ROOT / "tests" / "data" / "lalonde.csv").rename(columns={"age": name})
    data.to_csv(tmp_path / "data.csv", index=False)
    run = desist(
        "evaluate",
        "--data",
        tmp_path / "data.csv",
        "--treatment",
        "treat",
        "--covariates",
        f"{name},educ",
        "--outcome",
        "re78",
    )
    assert run.returncode == 0, run.stderr
    assert not canary.exists()
