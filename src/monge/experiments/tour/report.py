"""The tour's reports: ``report.md`` for terminals and a self-contained ``report.html``.

Both hold one section per chapter, each figure with its caption and the paragraphs that say what
the text claims and what was measured, and at the end a table of every figure (number) of the
tour's ``summary.json``. The HTML embeds the PNG figures (base64), so it works opened from disk,
sent by mail or moved elsewhere.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from pathlib import Path

from monge import __version__
from monge.runs import Run, atomic_write

from .common import ChapterResult, TourConfig

Chapters = list[tuple[int, str, ChapterResult]]


def _cell(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _results_rows(chapters: Chapters) -> list[dict]:
    return [{"chapter": k, "figure": name, "value": value}
            for k, _, chapter in chapters for name, value in chapter.results.items()]


def _header(config: TourConfig, seconds: float, when: str) -> str:
    chapters = ", ".join(map(str, config.chapters))
    return (f"monge {__version__}, {when}; chapters {chapters}; seed {config.seed}"
            f"{'; quick sizes' if config.quick else ''}; {seconds:.0f} s on this machine.")


_INTRO = ("This report was written by `monge tour`: it runs the texts' three chapters on real data "
          "(scikit-learn's digits, MNIST-1D, the toys of the GAN literature) and on the texts' own examples, "
          "and says for each figure what the text claims and what was measured. Every part lives in its "
          "own run folder beside this file, with its settings, metrics and checkpoints; the command that "
          "made it is in its config.json.")


def markdown(config: TourConfig, chapters: Chapters, seconds: float, when: str) -> str:
    """The report as Markdown (figures linked by relative path)."""
    out = ["# monge tour", "", _header(config, seconds, when), "", _INTRO, ""]
    for k, name, chapter in chapters:
        out += [f"## Chapter {k}. {name}", ""]
        for s in chapter.sections:
            out += [f"### {s.title}", ""]
            for paragraph in s.paragraphs:
                out += [paragraph, ""]
            for path, caption in s.figures:
                out += [f"![{caption}]({path})", "", f"*{caption}*", ""]
            if s.table:
                out += _markdown_table(s.table) + [""]
    out += ["## All measured figures", "", *_markdown_table(_results_rows(chapters)), ""]
    return "\n".join(out)


def _markdown_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return (["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
            + ["| " + " | ".join(_cell(row.get(key, "")) for key in keys) + " |" for row in rows])


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:62em;margin:2em auto;padding:0 1em;line-height:1.5;"
          "color:#222}h2{border-bottom:2px solid #446;margin-top:2.5em}h3{margin-top:1.8em}"
          "img{max-width:100%;max-height:38em;width:auto;height:auto;border:1px solid #ddd}figure{margin:1em 0}"
          "figcaption{font-style:italic;color:#444}table{border-collapse:collapse;margin:1em 0}"
          "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th{background:#f3f3f8}"
          "nav a{margin-right:1em}code{background:#f3f3f3;padding:0 .2em}")


def _html_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return (["<table><tr>" + "".join(f"<th>{html.escape(key)}</th>" for key in keys) + "</tr>"]
            + ["<tr>" + "".join(f"<td>{html.escape(_cell(row.get(key, '')))}</td>" for key in keys) + "</tr>"
               for row in rows] + ["</table>"])


def _inline_code(text: str) -> str:
    """Escape ``text`` for HTML and show its `backquoted` parts as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(run: Run, config: TourConfig, chapters: Chapters, seconds: float, when: str) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    out = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'><title>monge tour</title>",
           f"<style>{_STYLE}</style></head><body>", "<h1>monge tour</h1>",
           f"<p>{html.escape(_header(config, seconds, when))}</p>", f"<p>{_inline_code(_INTRO)}</p>", "<nav>"]
    out += [f"<a href='#chapter{k}'>Chapter {k}. {html.escape(name)}</a>" for k, name, _ in chapters]
    out += ["<a href='#figures'>All measured figures</a></nav>"]
    for k, name, chapter in chapters:
        out.append(f"<h2 id='chapter{k}'>Chapter {k}. {html.escape(name)}</h2>")
        for s in chapter.sections:
            out.append(f"<h3>{html.escape(s.title)}</h3>")
            out += [f"<p>{_inline_code(p)}</p>" for p in s.paragraphs]
            for path, caption in s.figures:
                data = base64.b64encode((run.path / path).read_bytes()).decode("ascii")
                out.append(f"<figure><img alt='{html.escape(caption, quote=True)}' src='data:image/png;base64,{data}'>"
                           f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            if s.table:
                out += _html_table(s.table)
    out += ["<h2 id='figures'>All measured figures</h2>", *_html_table(_results_rows(chapters)), "</body></html>"]
    return "\n".join(out)


def write_report(run: Run, config: TourConfig, chapters: Chapters, seconds: float) -> tuple[Path, Path]:
    """Write ``report.md`` and the self-contained ``report.html`` into the run folder; return their paths."""
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    paths = run.path / "report.md", run.path / "report.html"
    texts = markdown(config, chapters, seconds, when), to_html(run, config, chapters, seconds, when)
    for path, text in zip(paths, texts):
        with atomic_write(path) as fh:
            fh.write(text.encode("utf-8"))
    return paths
