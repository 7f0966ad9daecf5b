"""Figures, one module per chapter of the text (matplotlib, no pyplot, no global state)."""

from .classify import confusion_figure, decision_regions, learning_curves
from .transport import figure_2_2, plot_plan

__all__ = ["confusion_figure", "decision_regions", "figure_2_2", "learning_curves", "plot_plan"]
