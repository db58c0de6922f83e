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

``DIR`` may be new, empty, or a folder that desist wrote before (it holds
``manifest.json``); any other folder is refused, so that ``--out .`` can never
replace a folder of the user's own files.

This module imports nothing heavy: the command line reads
:func:`interruption_note` without loading pandas.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ground.errors import DesistError

MANIFEST = "manifest.json"
STAGING = ".partial-"
PREVIOUS = ".previous-"

# What the last interrupted command left behind, for the command line's one line.
_interrupted: list[str] = []


class OutputError(DesistError):
    """``--out`` names somewhere desist cannot or must not write; raised before any computing."""


def interruption_note() -> str | None:
    """What the last interrupted output folder left as it was (and forget it), or None."""
    return _interrupted.pop() if _interrupted else None


def check_destination(out: Path, option: str = "--out") -> None:
    """Refuse a destination desist cannot or must not replace, before any computing.

    Raises
    ------
    OutputError
        ``out`` is a file, a folder holding files desist did not write, not
        writable, or inside a folder that cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} ({option}) is a file, not a folder: give a folder for the outputs.")
    if out.is_dir():
        entries = [e.name for e in out.iterdir()]
        if entries and MANIFEST not in entries:
            raise OutputError(
                f"{out} ({option}) already holds files that desist did not write (no {MANIFEST}), and desist "
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
        return {"desist_version": __version__, "command": self.command, "inputs": self.inputs, "files": files}

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
            shutil.rmtree(previous, ignore_errors=True)
        return self.files

    def discard(self) -> None:
        """Remove the staging folder; ``out`` is left as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def left_as_it_was(self) -> str:
        """A phrase saying what an unfinished run left of ``out``."""
        if self.out.is_dir():
            return f"{self.out} was left as it was (the previous outputs are untouched)"
        return f"nothing was written to {self.out}"


@contextmanager
def writing(
    out: Path | None, *, command: str, inputs: Mapping[str, Any], option: str = "--out"
) -> Iterator[OutputFolder | None]:
    """Open an :class:`OutputFolder` (or None when ``out`` is None) and commit it if the block completes.

    An error or an interruption inside the block discards the staging
    folder; ``out`` keeps what it had. Open it before computing, so a bad
    ``--out`` is refused at once.
    """
    if out is None:
        yield None
        return
    folder = OutputFolder(Path(out), command=command, inputs=inputs, option=option)
    try:
        yield folder
    except KeyboardInterrupt:
        folder.discard()
        _interrupted.append(folder.left_as_it_was())
        raise
    except BaseException:
        folder.discard()
        raise
    folder.commit()
