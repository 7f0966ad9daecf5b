"""Figures, one module per chapter of the text (matplotlib, no pyplot, no global state)."""

from .transport import figure_2_2, plot_plan

__all__ = ["figure_2_2", "plot_plan"]
