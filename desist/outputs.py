"""Output folders that cannot go stale: written aside, moved into place only when complete.

A command that writes files (``--out DIR``) opens an :class:`OutputFolder`
before it computes anything: the destination is checked then (not a file, not
a folder of someone else's files, somewhere desist may write), and a staging
folder ``.DIR.partial-XXXX`` is made beside it. Files are written into the
staging folder; when the command has finished, a ``manifest.json`` (each
file's name, size and SHA-256, the command and its inputs, desist's version)
is added and the staging folder replaces ``DIR`` whole. A previous run's files
are never mixed with new ones (a tariff that is no longer built does not
linger), and a run that fails or is interrupted leaves ``DIR`` exactly as it
was.

``DIR`` may be new, empty, or a folder that desist wrote before: its
``manifest.json`` says desist wrote it (``"written_by": "desist"`` and the run's
id) and lists every file in the folder. Any other folder is refused, naming the
first file desist did not write, so that ``--out .`` (or a folder that merely
holds some other program's ``manifest.json``) can never be replaced. A symbolic
link is refused (replacing it would replace the link, not its folder).

Signals: Ctrl-C (SIGINT) and SIGTERM discard the staging folder and leave
``DIR`` as it was; one that arrives while the finished folder is being swapped
into place waits until the swap is done (:func:`on_signal`), so nothing named
``.DIR.partial-*`` or ``.DIR.previous-*`` is left behind.

This module imports nothing heavy: the command line reads
:func:`interruption_note` without loading pandas.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ground.errors import DesistError

MANIFEST = "manifest.json"
STAGING = ".partial-"
PREVIOUS = ".previous-"
#: The manifest's ``written_by``: what marks a folder as desist's to replace.
WRITTEN_BY = "desist"

# What the last interrupted command left behind, for the command line's one line.
_interrupted: list[str] = []


class OutputError(DesistError):
    """``--out`` names somewhere desist cannot or must not write; raised before any computing."""


def is_interruption(exc: BaseException) -> bool:
    """Whether ``exc`` is or wraps an interruption: Python 3.11 turns one raised while a class is made (a module
    being imported when the signal came) into a RuntimeError whose cause is the KeyboardInterrupt."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def interruption_note() -> str | None:
    """What the last interrupted output folder left as it was (and forget it), or None."""
    return _interrupted.pop() if _interrupted else None


def check_destination(out: Path, option: str = "--out") -> None:
    """Refuse a destination desist cannot or must not replace, before any computing.

    Raises
    ------
    OutputError
        ``out`` is a file or a symbolic link, a folder holding a file desist did
        not write, not writable, or inside a folder that cannot be created or written.
    """
    out = Path(out)
    if out.is_symlink():
        target = os.readlink(out)
        raise OutputError(
            f"{out} ({option}) is a symbolic link (to {target}): desist replaces its output folder whole and will "
            "not replace a link or what it points to. Give the folder itself, or a new one."
        )
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} ({option}) is a file, not a folder: give a folder for the outputs.")
    if out.is_dir():
        foreign = foreign_file(out)
        if foreign is not None:
            raise OutputError(
                f"{out} ({option}) holds {foreign}, which desist did not write ({foreign_reason(out)}), and desist "
                "replaces its output folder whole: give a new folder, an empty one, or one desist wrote before."
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"{out} ({option}) is read-only: desist cannot replace it. Give another folder.")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out} ({option}): cannot create the folder {parent}: {exc.strerror or exc}.") from None
    if not parent.is_dir():
        raise OutputError(f"{out} ({option}): {parent} is not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out} ({option}): cannot write in {parent} (read-only). Give another folder.")


def written_by_desist(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest when it says desist wrote the folder (``written_by`` and ``run``), else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        names = [f["name"] for f in manifest["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = manifest.get("written_by") == WRITTEN_BY and isinstance(manifest.get("run"), str)
    return manifest if ok and all(isinstance(n, str) for n in names) else None


def foreign_file(folder: Path) -> str | None:
    """The first entry (by name) of ``folder`` that its manifest does not list as desist's, or None."""
    entries = sorted(e.name for e in folder.iterdir())
    manifest = written_by_desist(folder)
    listed = {MANIFEST, *(f["name"] for f in manifest["files"])} if manifest else set()
    unlisted = [e for e in entries if e not in listed]
    return unlisted[0] if unlisted else None


def foreign_reason(folder: Path) -> str:
    if not (folder / MANIFEST).exists():
        return f"there is no {MANIFEST}"
    if written_by_desist(folder) is None:
        return f"its {MANIFEST} does not say desist wrote the folder"
    return f"it is not listed in {MANIFEST}"


class OutputFolder:
    """A command's outputs, staged beside ``out`` and moved into place whole by :meth:`commit`.

    Parameters
    ----------
    out : pathlib.Path
        The destination folder (``--out``).
    command : str
        The command's name, recorded in the manifest.
    inputs : mapping
        The command's options as given (plain JSON data), recorded in the manifest.
    option : str, default "--out"
        The option that named ``out``, quoted in messages.

    Examples
    --------
    >>> with writing(Path(tmp) / "out", command="demo", inputs={}) as folder:  # doctest: +SKIP
    ...     folder.path("story.json").write_text("{}")
    """

    def __init__(self, out: Path, *, command: str, inputs: Mapping[str, Any], option: str = "--out") -> None:
        self.out = Path(out)
        self.option = option
        check_destination(self.out, option)
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}{STAGING}", dir=self.out.parent))
        except OSError as exc:
            raise OutputError(
                f"{self.out} ({option}): cannot write in {self.out.parent}: {exc.strerror or exc}."
            ) from None
        # mkdtemp makes a private folder; an output folder gets the usual permissions
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(self.staging, 0o777 & ~mask)
        self.command = command
        self.inputs = dict(inputs)
        self.names: list[str] = []
        self.run = uuid.uuid4().hex

    def path(self, name: str) -> Path:
        """Where to write the output file ``name`` now (in the staging folder); recorded for the manifest."""
        if Path(name).name != name or name in ("", ".", "..", MANIFEST):
            raise OutputError(f"An output file name must be a plain file name other than {MANIFEST}. Got {name!r}.")
        if name not in self.names:
            self.names.append(name)
        return self.staging / name

    def final(self, name: str) -> str:
        """Where ``name`` will be once the folder is in place, as the command reports it."""
        return str(self.out / name)

    @property
    def files(self) -> list[str]:
        """The final paths of every file written, in the order written."""
        return [self.final(name) for name in self.names]

    def manifest(self) -> dict[str, Any]:
        """Each file's name, size and SHA-256, the command, its inputs and desist's version."""
        from desist import __version__

        files = []
        for name in self.names:
            path = self.staging / name
            if not path.is_file():
                raise OutputError(f"{self.final(name)}: the command did not write this file.")
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            files.append({"name": name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()})
        return {
            "written_by": WRITTEN_BY,
            "run": self.run,
            "desist_version": __version__,
            "command": self.command,
            "inputs": self.inputs,
            "files": files,
        }

    def commit(self) -> list[str]:
        """Write the manifest and put the folder in place of ``out`` (a previous one is replaced whole)."""
        (self.staging / MANIFEST).write_text(json.dumps(self.manifest(), indent=2), encoding="utf-8")
        previous = None
        if self.out.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{self.out.name}{PREVIOUS}", dir=self.out.parent))
            os.rmdir(previous)
            os.rename(self.out, previous)
        try:
            os.rename(self.staging, self.out)
        except BaseException:
            if previous is not None and not self.out.exists():
                os.rename(previous, self.out)
            raise
        if previous is not None:
            try:
                shutil.rmtree(previous)
            except OSError as exc:
                raise OutputError(
                    f"{self.out} ({self.option}) holds the new outputs, but the previous ones, moved to {previous}, "
                    f"could not be removed ({exc.strerror or exc}): remove that folder."
                ) from None
        return self.files

    def discard(self) -> None:
        """Remove the staging folder; ``out`` is left as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def left_as_it_was(self) -> str:
        """A phrase saying what an unfinished run left of ``out``."""
        if self.out.is_dir():
            return f"{self.out} was left as it was (the previous outputs are untouched)"
        return f"nothing was written to {self.out}"


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) arrived: handled as Ctrl-C is, the signal's number kept for the exit status."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# One list per block that holds signals (innermost last); a signal waits in it until the block ends.
_held: list[list[int]] = []
# Every signal received, for the exit status (typer turns any KeyboardInterrupt into exit 130).
_signals: list[int] = []


def last_signal() -> int | None:
    """The last SIGINT or SIGTERM received (and forget them all), or None."""
    last = _signals[-1] if _signals else None
    _signals.clear()
    return last


def on_signal(signum: int, frame: Any = None) -> None:
    """The command line's handler of SIGINT and SIGTERM: interrupt now, or when the folders are safe."""
    _signals.append(signum)
    if _held:
        _held[-1].append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def held_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM arriving inside wait in the list given; the caller raises them once it is safe."""
    waiting: list[int] = []
    _held.append(waiting)
    try:
        yield waiting
    finally:
        _held.pop()


def _raise_waiting(waiting: list[int]) -> None:
    if waiting:
        raise Interrupted(waiting[0])


@contextmanager
def writing(
    out: Path | None, *, command: str, inputs: Mapping[str, Any], option: str = "--out"
) -> Iterator[OutputFolder | None]:
    """Open an :class:`OutputFolder` (or None when ``out`` is None) and commit it if the block completes.

    An error or an interruption inside the block discards the staging
    folder; ``out`` keeps what it had. Open it before computing, so a bad
    ``--out`` is refused at once. Making, discarding and swapping the staging
    folder hold signals, so an interruption never leaves one behind.
    """
    if out is None:
        yield None
        return
    with held_signals() as waiting:
        folder = OutputFolder(Path(out), command=command, inputs=inputs, option=option)
    try:
        _raise_waiting(waiting)
        yield folder
    except BaseException as exc:
        with held_signals():
            folder.discard()
        if is_interruption(exc):
            _interrupted.append(folder.left_as_it_was())
        raise
    with held_signals() as waiting:
        try:
            folder.commit()
        except BaseException:
            folder.discard()
            raise
    _raise_waiting(waiting)
