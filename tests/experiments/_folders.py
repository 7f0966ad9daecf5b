"""What the experiments' tests compare between two run folders: their files and their summaries."""

import json


def files(folder):
    """Every file of a run folder, relative to it, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def figures(summary, times):
    """A summary (a dict, or the folder whose ``summary.json`` holds it) without its timings ``times``."""
    if not isinstance(summary, dict):
        summary = json.loads((summary / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in times}
