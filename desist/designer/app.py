"""The designer's page (Shiny for Python): the contract's terms on the left, what they do on the right.

Every edit rebuilds the contract's text from the loaded file with the page's
values (:class:`desist.designer.draft.Draft`), reads it as ``desist check``
reads a file and, when it is valid, answers it with
:func:`appraisal.designer.answer` on data read once. A value the file would
refuse shows the file's message and leaves the last valid answers on the page.
Undo and redo step through the values entered; save writes the text to a path
the user types (an existing file only when told to replace it); the report is
the one ``desist report`` writes, built for the edited contract.

The page uses no CDN: Shiny serves its own scripts and styles from the
server, which listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from math import inf
from pathlib import Path
from typing import Any

from shiny import App, reactive, render, ui

from appraisal.designer import DesignAnswers, DesignData, answer, changes
from desist.designer import views
from desist.designer.draft import Draft, Term
from ground.checks import Interval, check_parameter
from ground.errors import DesistError
from pricing.chances import DEFAULT_EFFECT
from pricing.contract import Contract

__all__ = ["build_app"]

#: The stated true effect the rules' chances and power are shown at, by the first rule's measure.
EFFECT_LABELS = {
    "binary": "True effect on the reoffending rate (a difference: -0.05 is 5 points fewer)",
    "frequency": "True effect on reoffences (a rate ratio: 0.9 is 10% fewer)",
}

#: What the page says while an answer takes longer than a second.
BUSY = "Working out the answers for this design: the figures below are for the one before until they change."

STYLE = """
body { font-family: system-ui, sans-serif; }
.terms fieldset { border: 1px solid #ccc; border-radius: 4px; padding: .5rem .75rem; margin-bottom: .75rem; }
.terms legend { font-size: 1rem; font-weight: 600; float: none; width: auto; padding: 0 .25rem; margin: 0; }
.terms .form-group, .terms .shiny-input-container { margin-bottom: .4rem; width: 100%; }
.answers section { margin-bottom: 1.5rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
caption { caption-side: top; color: #222; font-weight: 600; }
th, td { border-bottom: 1px solid #ddd; padding: .2rem .5rem; text-align: left; }
.num { text-align: right; }
.check-ok { border-left: 4px solid #1e7b34; padding: .5rem .75rem; background: #eef7f0; }
.check-error { border-left: 4px solid #a4161a; padding: .5rem .75rem; background: #fbeaea; }
.data-source { border-left: 4px solid #8a5a00; padding: .5rem .75rem; background: #fff6e0; }
.actions .btn { margin: 0 .25rem .5rem 0; }
#busy { visibility: hidden; position: sticky; top: 0; z-index: 10; }
/* Shown only when an answer takes longer than a second: Shiny marks the page busy while it works. */
html.shiny-busy #busy { animation: busy-after-a-second 0s linear 1s forwards; }
@keyframes busy-after-a-second { to { visibility: visible; } }
"""


def _input(term: Term, value: Any) -> Any:
    """The page's input for one term: a number, a date as text, or a choice."""
    if term.kind == "number":
        return ui.input_numeric(term.id, term.label, value, update_on="blur")
    if term.kind == "choice":
        return ui.input_select(term.id, term.label, {c: c for c in term.choices}, selected=value or term.choices[0])
    return ui.input_text(term.id, term.label, value or "", update_on="blur")


def _terms_panel(draft: Draft) -> Any:
    """The terms grouped as a commissioner thinks of them, one fieldset each; the rules' assumed effect last."""
    values, groups = draft.values(), {}
    for term in draft.terms:
        groups.setdefault(term.group, []).append(_input(term, values[term.id]))
    if draft.loaded.rules:
        measure = draft.loaded.rules[0].measure
        label = EFFECT_LABELS[measure]
        groups["Assumed for the rules (not a term)"] = [
            ui.input_numeric("effect", label, DEFAULT_EFFECT[measure], update_on="blur")
        ]
    return ui.div(
        ui.h2("The contract's terms"),
        *[ui.tags.fieldset(ui.tags.legend(group), *inputs) for group, inputs in groups.items()],
        class_="terms",
    )


def _page(draft: Draft, data: DesignData, report: bool, source: str) -> Any:
    actions = ui.div(
        ui.input_action_button("undo", "Undo"),
        ui.input_action_button("redo", "Redo"),
        ui.input_text("save_path", "Save the edited contract as (a file path)", placeholder="my_contract.toml"),
        ui.input_checkbox("replace", "Replace the file if it exists", False),
        ui.input_action_button("save", "Save"),
        ui.output_ui("saved"),
        ui.download_button("report", "Download report") if report else ui.p(views.NO_REPORT),
        class_="actions",
    )
    answers = [
        ui.tags.section(ui.h2(title), ui.output_ui(key), **{"aria-live": "polite"}) for key, title, _ in views.SECTIONS
    ]
    return ui.page_fluid(
        ui.tags.style(STYLE),
        ui.tags.header(
            ui.h1(f"Designing: {draft.loaded.name}"),
            ui.p(f"Loaded from {source}."),
            ui.p(data.source, class_="data-source"),
        ),
        ui.tags.main(
            ui.layout_columns(
                ui.div(_terms_panel(draft), actions),
                ui.div(
                    ui.div(BUSY, id="busy", class_="data-source", role="status"),
                    ui.output_ui("status"),
                    *answers,
                    ui.tags.section(ui.h2("The loaded design beside the edited one"), ui.output_ui("compare")),
                    class_="answers",
                ),
                col_widths=(4, 8),
            )
        ),
        title=f"desist design: {draft.loaded.name}",
        lang="en",
    )


def build_app(
    draft: Draft,
    data: DesignData,
    loaded: DesignAnswers,
    *,
    report: Callable[[Contract], str] | None = None,
    options: dict[str, Any] | None = None,
    source: str | None = None,
) -> App:
    """The designer as a Shiny app for one contract file and one set of data.

    Parameters
    ----------
    draft : Draft
        The loaded contract file and the terms the page edits.
    data : appraisal.designer.DesignData
        What every design is answered on.
    loaded : appraisal.designer.DesignAnswers
        The answers for the contract as loaded (the left of the comparison).
    report : callable, optional
        Builds the HTML report for a contract; without it the page says how to make one.
    options : dict, optional
        Passed to :func:`appraisal.designer.answer` (``draws``, ``gaming_draws``, ``seed``).
    source : str, optional
        Where the contract came from, in words (default: its file).

    Returns
    -------
    shiny.App

    Examples
    --------
    >>> app = build_app(draft, data, answer(draft.loaded, data))  # doctest: +SKIP
    """
    settings = dict(options or {})

    def server(input: Any, output: Any, session: Any) -> None:
        design = _design(input, draft, data, loaded, settings)
        _undo_redo(input, draft, design.entered)
        _answers(output, design, loaded)
        _saving(input, output, design)
        if report is not None:
            _download(output, design, report)

    return App(_page(draft, data, report is not None, source or draft.source), server)


@dataclass(frozen=True)
class _Design:
    """One visitor's design, as reactive values: what was entered, the contract it makes and its answers.

    ``edited()`` is ``(text, contract, error)``: the file's text and the contract when the values make a valid
    file, else the file's message. ``answered()`` is ``(answers, error)``: the answers of the last design that
    could be answered, and the data's message when this one could not.
    """

    entered: Callable[[], dict[str, Any]]
    edited: Callable[[], tuple[str | None, Contract | None, str | None]]
    answered: Callable[[], tuple[DesignAnswers, str | None]]


def _design(input: Any, draft: Draft, data: DesignData, loaded: DesignAnswers, options: dict[str, Any]) -> _Design:
    """The reactive chain from the page's values to the answers: each edit checked as the file, then answered."""
    terms = [t.id for t in draft.terms]
    last = {"answers": loaded}

    @reactive.calc
    def entered() -> dict[str, Any]:
        return {key: input[key]() for key in terms}

    @reactive.calc
    def effect() -> float | None:
        """The assumed effect, a finite number (None: the default); a bad one is shown as the file's errors are."""
        if not draft.loaded.rules or input.effect() is None:
            return None
        return check_parameter(input.effect(), "effect", "desist design", Interval(float, -inf, inf, closed="neither"))

    @reactive.calc
    def edited() -> tuple[str | None, Contract | None, str | None]:
        try:
            text = draft.text(entered())
            contract = draft.contract(text)
            effect()
            return text, contract, None
        except DesistError as exc:
            return None, None, str(exc)

    @reactive.calc
    def answered() -> tuple[DesignAnswers, str | None]:
        _, contract, _ = edited()
        if contract is None:
            return last["answers"], None
        try:
            last["answers"] = answer(contract, data, **options, effect=effect())
        except DesistError as exc:
            # A rule the file accepts may still name a column the data lack: the data's own message.
            return last["answers"], str(exc)
        return last["answers"], None

    return _Design(entered, edited, answered)


def _undo_redo(input: Any, draft: Draft, entered: Callable[[], dict[str, Any]]) -> None:
    """Undo and redo: every distinct set of values entered is a step; restoring one sets the page's boxes."""
    terms = {t.id: t for t in draft.terms}
    stack, position, pending = reactive.value([draft.values()]), reactive.value(0), reactive.value(None)

    @reactive.effect
    def _record() -> None:
        values = entered()
        with reactive.isolate():
            waiting, history, at = pending(), stack(), position()
        if waiting is not None:
            # The page is being set to a restored step: its values are not a new one.
            if values == waiting:
                pending.set(None)
            return
        if values != history[at]:
            stack.set([*history[: at + 1], values])
            position.set(at + 1)

    def restore(step: int) -> None:
        history, at = stack(), position()
        target = at + step
        if not 0 <= target < len(history):
            return
        values, now = history[target], entered()
        position.set(target)
        if values == now:
            return
        pending.set(values)
        for key, value in values.items():
            if value != now[key]:
                _update(terms[key], value)

    @reactive.effect
    @reactive.event(input.undo)
    def _undo() -> None:
        restore(-1)

    @reactive.effect
    @reactive.event(input.redo)
    def _redo() -> None:
        restore(+1)


def _answers(output: Any, design: _Design, loaded: DesignAnswers) -> None:
    """The status line, each section of answers and the comparison with the loaded design."""

    @render.ui
    def status() -> Any:
        _, _, error = design.edited()
        answers, refused = design.answered()
        if error is not None or refused is not None:
            return ui.div(
                ui.strong("The file would be refused: " if error is not None else "The data refuse this design: "),
                error or refused,
                ui.p("The answers below are for the last valid design."),
                class_="check-error",
                role="alert",
            )
        seconds = sum(answers.seconds.values())
        return ui.div(
            f"The contract is valid (read as desist check reads the file). Answered in {seconds:.1f} s "
            f"({answers.cpu_seconds:.1f} s of processor time).",
            class_="check-ok",
            role="status",
        )

    def section(key: str, view: Callable[[DesignAnswers], str]) -> Callable[[], Any]:
        def shown() -> Any:
            return ui.HTML(view(design.answered()[0]))

        shown.__name__ = key  # Shiny names an output by its function
        return shown

    for key, _, view in views.SECTIONS:
        output(render.ui(section(key, view)), id=key)

    @render.ui
    def compare() -> Any:
        return ui.HTML(views.changed(changes(loaded, design.answered()[0])))


def _saving(input: Any, output: Any, design: _Design) -> None:
    """Save: the edited contract's text to the path typed, an existing file only when told to replace it."""
    note = reactive.value("")

    @reactive.effect
    @reactive.event(input.save)
    def _save() -> None:
        text, _, error = design.edited()
        note.set(save(text, error, input.save_path(), bool(input.replace())))

    @render.ui
    def saved() -> Any:
        return ui.p(note(), role="status") if note() else None


def _download(output: Any, design: _Design, report: Callable[[Contract], str]) -> None:
    """Download report: the HTML report ``desist report`` writes, for the edited contract."""

    @render.download(filename="report.html")
    def report_file() -> Any:
        _, contract, error = design.edited()
        if contract is None:
            raise DesistError(f"The design is not valid, so no report: {error}")
        yield report(contract)

    output(report_file, id="report")


def _update(term: Term, value: Any) -> None:
    if term.kind == "number":
        ui.update_numeric(term.id, value=value)
    elif term.kind == "choice":
        ui.update_select(term.id, selected=value)
    else:
        ui.update_text(term.id, value=value or "")


def save(text: str | None, error: str | None, where: str, replace: bool) -> str:
    """Write the edited contract to ``where``; an existing file only with ``replace``. Returns what happened.

    The file is written beside its destination and moved into place, so a failed save leaves nothing half-written.
    """
    if text is None:
        return f"Not saved: the design would be refused ({error}). Fix it first."
    if not where.strip():
        return "Not saved: type the path of the file to save to."
    path = Path(where.strip()).expanduser()
    if path.exists() and not replace:
        return (
            f"Not saved: {path} exists. Tick 'Replace the file if it exists' to overwrite it, or choose another path."
        )
    if path.is_dir() or not path.parent.is_dir():
        return f"Not saved: {path} is not a file in an existing folder."
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        return f"Not saved: {path}: {exc.strerror}."
    return f"Saved to {path}. desist check and desist settle read it as it is."
