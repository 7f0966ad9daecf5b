"""What the commands that train share on the command line: the settings given, and ``--resume DIR``."""

from __future__ import annotations

from pathlib import Path

from monge.errors import InputError


def given(args, flags) -> dict:
    """The settings among ``flags`` that the user passed on the command line (a flag left out is ``None``)."""
    return {name: getattr(args, name) for name in flags if getattr(args, name, None) is not None}


def folder(args) -> tuple[Path | None, bool]:
    """The run folder and whether to resume: ``--resume DIR`` continues the run in DIR (``--out``, if given, agrees)."""
    if args.resume is None:
        return (None if args.out is None else Path(args.out)), False
    if args.out is not None and Path(args.out).resolve() != Path(args.resume).resolve():
        raise InputError(f"--out: {args.out} differs from --resume {args.resume}; a resumed run stays in its folder")
    return Path(args.resume), True


def settings(experiment, args, flags, **parsed):
    """The experiment's ``Config`` from the flags given; with ``--resume``, the run's saved one, which they may not change.

    ``parsed`` holds flags already read into their field's type (e.g. ``widths``); they win over
    the raw text in ``args``.
    """
    values = {**given(args, flags), **{k: v for k, v in parsed.items() if v is not None}}
    out, resume = folder(args)
    if not resume:
        return experiment.Config(**values)
    from monge.runs import saved_config

    return saved_config(out, experiment.COMMAND, experiment.Config, given=values,
                        added=getattr(experiment, "ADDED", {}))
