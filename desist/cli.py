"""The ``desist`` command line: a thin typer layer over the library.

Each subcommand lives in its own module under ``desist/commands/`` and exposes
``register(app)``. Modules are imported only when their command runs (or shows
its help), so ``desist --help`` and ``desist --version`` load neither pandas
nor matplotlib; :data:`COMMANDS` holds the one-line help the root help lists.

One handler (:meth:`DesistGroup.main`) turns every failure into one message on
stderr, never a traceback:

- exit 0: done;
- exit 1: an error in the data, a spec or an output folder (the
  ``DesistError`` family), and for ``check`` a design finding of severity
  error; also anything unexpected, said to be a bug;
- exit 2: a usage error (an unknown option, a missing one, a value of the
  wrong type), typer's convention;
- exit 130: interrupted (Ctrl-C), 143: terminated (SIGTERM), with one line
  saying what was left of the output folder.

``desist --debug COMMAND ...`` (or ``DESIST_DEBUG=1``) also prints the
traceback. Warnings are printed as ``warning: ...`` lines.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

try:
    import typer
    from typer.core import TyperGroup
except KeyboardInterrupt:  # Ctrl-C while Python is still loading the command line
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

from desist import __version__
from desist.outputs import interruption_note, is_interruption, last_signal, on_signal
from ground.errors import DesistError

#: Subcommands in the order ``desist --help`` lists them, with their one-line help
#: (the first line of each command's docstring; tests/cli/test_safety.py keeps them equal).
COMMANDS: dict[str, str] = {
    "demo": "Run the whole story on a synthetic world (no files needed) and write the report.",
    "inspect": "Profile files before anything is computed: columns, dates, codes, duplicates, links, a draft mapping.",
    "measure": "Count proven reoffending per person and write the per-person table.",
    "link": "Link a cohort to the national people table on names, date of birth, sex and any IDs.",
    "evaluate": "Match programme participants to a comparison pool and estimate the effect.",
    "power": "Minimum detectable effect, required cohort size and power of a reoffending measure.",
    "weight": "Rake weights to population margins and print the margins before and after.",
    "price": "Build and compare tariffs: prices and margins by segment, and the creaming gap.",
    "simulate": "Simulate a contract's payments: spend against budget, each party's cash flow and chance of a loss.",
    "check": "Check a metric spec, print it in plain words, then its design findings.",
    "settle": "Settle a contract on its data: tranches, parties, a claims ledger and an audit record.",
    "verify": "Replay a settlement from its audit record; exit 1 if any input or figure changed.",
    "screen": "Screen providers for creaming (enrolling the easy cases) and parking (serving the hard ones less).",
    "gaming": "What creaming and parking would earn a provider per person, under this tariff and the alternatives.",
    "design": "Design a contract in the browser: each edit checked as the file and answered at once.",
    "report": "Run the whole evaluation on files and write one self-contained HTML report.",
}

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143


class DesistGroup(TyperGroup):
    """The root command: subcommands loaded on first use, and one handler for every failure."""

    debug = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in COMMANDS:
            return None
        if name not in self.commands:
            one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            importlib.import_module(f"desist.commands.{name}").register(one)
            command = typer.main.get_command(one)
            _untyped_flags(command.params)
            self.commands[name] = command
        if ctx is not None:  # the help option is made on first use, from the context
            _untyped_flags([self.commands[name].get_help_option(ctx)])
        return self.commands[name]

    def get_params(self, ctx: Any) -> list[Any]:
        return _untyped_flags(super().get_params(ctx))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            from difflib import get_close_matches

            close = get_close_matches(args[0], list(COMMANDS)) if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = exc.message.rstrip(".") + f". Did you mean {', '.join(map(repr, close))}?"
            raise

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From the table, not the modules: listing the commands loads none of them.
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        DesistGroup.debug = os.environ.get("DESIST_DEBUG", "") not in ("", "0")
        with warnings.catch_warnings(), _signals_handled():
            warnings.showwarning = _show_warning
            code = _run(super().main, args, prog_name, complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code


def _run(main: Any, args: Any, prog_name: Any, complete_var: Any, extra: dict) -> int:
    """Run the command line; return the exit status, having printed at most one message."""
    try:
        result = main(args=args, prog_name=prog_name or "desist", complete_var=complete_var, standalone_mode=False)
    except typer.TyperException as exc:  # usage errors (2) and click's own errors
        _trace()
        show = getattr(exc, "show", None)
        show() if show else _say(f"error: {exc.format_message()}")
        return exc.exit_code
    except typer.Abort:
        _say("error: aborted (no input).")
        return EXIT_ERROR
    except KeyboardInterrupt:
        result = EXIT_INTERRUPTED
    except DesistError as exc:
        _trace()
        _say(f"error: {exc}")
        return EXIT_ERROR
    except MemoryError:
        _trace()
        _say("error: out of memory: try fewer draws, a smaller table, or a machine with more memory.")
        return EXIT_ERROR
    except OSError as exc:  # e.g. the disk filled up while writing
        _trace()
        _say(f"error: {exc}")
        return EXIT_ERROR
    except Exception as exc:
        if is_interruption(exc):
            return _stopped(EXIT_INTERRUPTED)
        _trace()
        _say(
            f"error: internal error ({type(exc).__name__}: {str(exc)[:300]}). This is a bug in desist: please "
            "report it with the command you ran; 'desist --debug ...' shows where it happened."
        )
        return EXIT_ERROR
    return _stopped(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def _stopped(code: int) -> int:
    """The exit status; an interruption (Ctrl-C, or SIGTERM handled as one) says so in one line."""
    if code == EXIT_INTERRUPTED and last_signal() == signal.SIGTERM:
        code = EXIT_TERMINATED
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        note = interruption_note()
        how = "interrupted (Ctrl-C)" if code == EXIT_INTERRUPTED else "terminated (SIGTERM)"
        _say(f"{how}{': ' + note if note else ''}.")
    return code


@contextmanager
def _signals_handled() -> Iterator[None]:
    """SIGTERM is handled as Ctrl-C is (outputs discarded, one line); both wait while a folder is swapped."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    before = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _untyped_flags(params: list[Any]) -> list[Any]:
    """Show flags (``--replace/--no-replace``, ``--help``) without a type: typer's help prints ``<bool>``
    beside them, as if they took a value, and ``--replace true`` is then a usage error."""
    for param in params:
        if param is not None and getattr(param, "is_flag", False):
            param.metavar = ""
    return params


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _trace() -> None:
    if DesistGroup.debug:
        traceback.print_exc()


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    _say(f"warning: {message}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"desist {__version__}")
        raise typer.Exit()


def _debug(value: bool) -> None:
    if value:
        DesistGroup.debug = True


app = typer.Typer(
    name="desist",
    cls=DesistGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print desist's version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", callback=_debug, is_eager=True, help="Show the traceback of any error (for bug reports)."
    ),
    date_format: str = typer.Option(
        None,
        "--date-format",
        help="Also read dates written this way, in files and options (a strptime format with a four-digit year, "
        "e.g. %d/%m/%Y). Without it every date is written YYYY-MM-DD; others are refused, never guessed.",
    ),
) -> None:
    """Design, price and test outcome metrics for rehabilitation services paid by results.

    Exit status: 0 done; 1 an error in the data, a spec or the output folder (one message naming the
    file), or a design finding of severity error from 'check'; 2 a usage error; 130 interrupted.
    """
    if date_format is not None:
        from ground.dates import date_format as declared  # pandas: only when a format is declared

        ctx.with_resource(declared(date_format))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``desist`` console script."""
    try:
        app(args=argv)
    except KeyboardInterrupt:  # before the handler is reached
        _say("interrupted (Ctrl-C).")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
