"""Entry point of the ``monge`` command: ``monge <subcommand> [options]``.

Examples
--------
``monge transport --example monge6`` (Figure 2.2 of the text), ``monge transport a.npy b.npy``,
``monge tour``. ``monge <subcommand> --help`` lists each one's options.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from pathlib import Path

from monge import __version__
from monge.meanfield.flow import FlowDiverged
from monge.training.loop import DivergedError

SUBCOMMANDS = ("tour", "transport", "classify", "approximate", "generate", "flow", "bench")
# Bad input, reported as one line with exit code 2; anything else is a bug and keeps its traceback
# (set MONGE_TRACEBACK=1 to see the traceback of these too).
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError, MemoryError, DivergedError, FlowDiverged)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a non-negative integer") from None
    if not 0 <= value < 2**63:  # what every generator seeded from it (torch, NumPy, Python) accepts
        raise argparse.ArgumentTypeError(f"{value}; expected a non-negative integer below 2**63")
    return value


def common_options() -> argparse.ArgumentParser:
    """The options every subcommand takes: ``--out``, ``--seed``, ``--quiet``."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--out", metavar="DIR", default=None,
                       help="run folder (default: runs/<command>-<YYYYmmdd-HHMMSS>); must be new, empty, "
                            "or a previous run of the same command")
    group.add_argument("--seed", metavar="N", type=_seed, default=0, help="random seed (default: 0)")
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return common


def _subcommand_parser(**kwargs) -> argparse.ArgumentParser:
    """Make a subcommand's parser with the common options; the subcommand's own definitions win."""
    kwargs["parents"] = [common_options(), *kwargs.get("parents", [])]
    kwargs.setdefault("conflict_handler", "resolve")
    return argparse.ArgumentParser(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The ``monge`` parser with every subcommand of :data:`SUBCOMMANDS` registered."""
    parser = argparse.ArgumentParser(
        prog="monge", description="The mathematics of neural networks as software: optimal transport, "
                                  "networks trained with it, mean-field gradient flows.")
    parser.add_argument("--version", action="version", version=f"monge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=_subcommand_parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    elif isinstance(error, MemoryError) and not str(error):
        text = "out of memory"
    else:
        text = str(error) or type(error).__name__
    if isinstance(error, FlowDiverged):
        text = text.replace("reduce dt", "reduce --dt")
    return " ".join(text.split())


def _fresh_out(args) -> tuple[Path, bool] | None:
    """``(--out, existed)`` when the folder is absent or empty before the command (the tour, which
    keeps its finished parts, excepted): a failure then leaves it as it was."""
    if args.command in ("tour", "bench") or getattr(args, "out", None) is None or getattr(args, "resume", None):
        return None
    out = Path(args.out)
    if not out.exists():
        return out, False
    if out.is_dir() and not any(out.iterdir()):
        return out, True
    return None


def _restore(fresh: tuple[Path, bool] | None) -> None:
    """Put a fresh ``--out`` back as it was after a failure, unless a checkpoint makes the run resumable."""
    if fresh is None:
        return
    out, existed = fresh
    if not out.is_dir() or (out / "checkpoints" / "last.pt").exists():
        return
    if not existed:
        shutil.rmtree(out, ignore_errors=True)
        return
    for child in out.iterdir():
        shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Run ``monge`` with ``argv`` (default: the command line); return the exit code.

    Exit codes: 0 success, 2 bad input or usage (one line on standard error), 1 a system error
    (disk full, read-only folder: one line naming the path), 130 interrupted. A command that fails
    with a new or empty ``--out`` leaves it as it was, unless a checkpoint was written (then
    ``--resume`` continues the run).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors: argparse has printed them
        code = stop.code
        return 0 if code is None else code if isinstance(code, int) else 2
    out = _fresh_out(args)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        _restore(out)
        if os.environ.get("MONGE_TRACEBACK"):
            raise
        print(f"monge {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # the system's refusal (disk full, read-only folder), not the user's input
        _restore(out)
        if os.environ.get("MONGE_TRACEBACK"):
            raise
        print(f"monge {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"monge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
