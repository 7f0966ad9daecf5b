"""The examples in the docstrings of monge.meanfield run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["units", "mixture", "network", "energy", "flow", "examples", "closed_forms", "quadrature", "diagnostics",
           "distributed"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"monge.meanfield.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
