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
import sys

from monge import __version__
from monge.errors import Diverged, InputError

# Each subcommand and its one-line help; its module, monge.cli.<name>, is imported only when it runs
# (or when its --help is asked for), so that `monge --help` does not load torch.
SUBCOMMANDS = {
    "tour": "run the texts' three chapters end to end and write a report",
    "transport": "solve an optimal transport problem (Monge, Kantorovich, Sinkhorn) on examples or your files",
    "classify": "train a network of chapter 1 (two-layer, MLP, convnet) on digits, MNIST-1D, toys or a file",
    "approximate": "universal approximation: error of two-layer ReLU networks against width",
    "generate": "train a generative network of chapter 2 by optimal transport (or adversarially)",
    "flow": "train a shallow network as a Wasserstein gradient flow of its neurons (particles, grid)",
    "playground": "neurons as particles and transport plans, live in the browser (a local web page)",
    "bench": "measure monge against the anchors (POT, scipy) and write the ratios",
}
# The user's input refused (one line, exit 2): our InputError, a divergence caused by a setting, and a
# path that names nothing usable. Any other exception is a bug and keeps its traceback.
USER_ERRORS = (InputError, Diverged, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)


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
                       help="run folder (default: runs/<command>-<YYYYmmdd-HHMMSS>); must be new or empty: "
                            "a run never overwrites files nor mixes its files with another run's")
    group.add_argument("--seed", metavar="N", type=_seed, default=0, help="random seed (default: 0)")
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return common


def _subcommand_parser(**kwargs) -> argparse.ArgumentParser:
    """Make a subcommand's parser with the common options; the subcommand's own definitions win."""
    kwargs["parents"] = [common_options(), *kwargs.get("parents", [])]
    kwargs.setdefault("conflict_handler", "resolve")
    return argparse.ArgumentParser(**kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``monge`` parser with the subcommands of :data:`SUBCOMMANDS`.

    Every subcommand's options are registered, unless ``only`` is given: then only the subcommand
    it names (none for ``""``) is, the others being listed with their help, and no other
    subcommand's module is imported.
    """
    parser = argparse.ArgumentParser(
        prog="monge", description="The mathematics of neural networks as software: optimal transport, "
                                  "networks trained with it, mean-field gradient flows.")
    parser.add_argument("--version", action="version", version=f"monge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=_subcommand_parser)
    for name, help in SUBCOMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"{__package__}.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help)
    return parser


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    elif isinstance(error, MemoryError) and not str(error):
        text = "out of memory"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run ``monge`` with ``argv`` (default: the command line); return the exit code.

    Exit codes: 0 success; 2 bad input or usage (one line on standard error: the setting, what was
    found, what was expected; a diverged training or flow names the setting to change); 1 a system
    error (disk full, read-only folder: one line naming the path); 130 interrupted. Any other error
    is a bug, shown with its traceback. A command that fails with a new or empty ``--out`` leaves
    it as it was, unless a checkpoint was written (then ``--resume`` continues the run).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=argv[0] if argv and argv[0] in SUBCOMMANDS else "")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors: argparse has printed them
        code = stop.code
        return 0 if code is None else code if isinstance(code, int) else 2
    try:
        return int(args.func(args) or 0)
    except (*USER_ERRORS, OSError, MemoryError) as error:
        if os.environ.get("MONGE_TRACEBACK"):
            raise
        print(f"monge {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2 if isinstance(error, USER_ERRORS) else 1
    except KeyboardInterrupt:
        print(f"monge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
