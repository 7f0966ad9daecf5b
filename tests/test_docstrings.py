"""Every public function and class has a NumPy-style docstring that ``python -m pydoc`` shows.

The public API is every name in ``__all__`` of :mod:`monge` and of its subpackages, the public
functions and classes of every public module under them (a name without a leading underscore,
defined in a module whose dotted path has none: ``monge.training.supervised.fit``,
``monge.meanfield.grid.grid_flow``, which the README uses), and the public methods and properties
of public classes (``forward`` included). The command line (:mod:`monge.cli`) is documented by its
``--help`` and is not walked. Constants (``DATASETS``, ``__version__``) are data and not checked.

The rule, strict but fair:

- a docstring of monge's own (a method may take it from the monge class it overrides, as pydoc
  shows it, but not from ``torch.nn.Module``), whose summary line says something (at least three
  words) and ends a sentence;
- a function or method with an argument besides ``self``/``cls`` documents its arguments: a
  ``Parameters`` section, or a docstring that names every argument (a one-line docstring such as
  "The share of correct predictions among ``scores`` against ``y``" is enough for a small helper);
- a class whose constructor takes arguments documents them the same way in the class docstring
  (a ``Parameters`` or ``Attributes`` section, or every argument named), as NumPy style asks;
- a property or a method without arguments needs only the summary line.

``extra_repr``, torch's hook for printing a module, is not checked (like ``__repr__``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import types

import pytest

PACKAGES = ["monge", "monge.transport", "monge.networks", "monge.training", "monge.meanfield", "monge.data",
            "monge.metrics", "monge.plots"]

#: Hooks that torch calls and documents, overridden to print a module: not API of their own.
HOOKS = {"extra_repr"}


@dataclasses.dataclass(frozen=True)
class Entry:
    """A public object and the docstring pydoc shows for it (``None``: none of monge's)."""

    obj: object
    doc: str | None


def _is_ours(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "monge"


def _exported(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items() if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) == module.__name__]


def _own_doc(obj) -> str | None:
    doc = obj.__doc__
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _class_doc(cls: type) -> str | None:
    doc = _own_doc(cls)
    if doc and dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return None  # the signature that @dataclass writes when a class has no docstring
    return doc


def _unwrap(member):
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    return member.fget if isinstance(member, property) else member


def _member_doc(cls: type, name: str) -> str | None:
    """The docstring of ``cls.name`` as pydoc finds it, from monge's classes only."""
    for klass in cls.__mro__:
        if _is_ours(klass) and name in vars(klass):
            doc = _own_doc(_unwrap(vars(klass)[name]))
            if doc:
                return doc
    return None


def public_api() -> dict[str, Entry]:
    """Every public function, class, method and property of monge, by qualified name."""
    found: dict[str, Entry] = {}
    seen: set[str] = set()

    def visit_module(module: types.ModuleType) -> None:
        if module.__name__ in seen:
            return
        seen.add(module.__name__)
        for name in _exported(module):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("monge."):
                visit_module(value)
            elif inspect.isclass(value) and _is_ours(value):
                visit_class(value)
            elif inspect.isfunction(value) and _is_ours(value):
                found[f"{value.__module__}.{value.__qualname__}"] = Entry(value, _own_doc(value))

    def visit_class(cls: type) -> None:
        qualname = f"{cls.__module__}.{cls.__qualname__}"
        found[qualname] = Entry(cls, _class_doc(cls))
        for klass in cls.__mro__:
            if not _is_ours(klass):
                continue
            for name, member in vars(klass).items():
                if name.startswith("_") or name in HOOKS or f"{qualname}.{name}" in found:
                    continue
                member = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                if inspect.isfunction(member) or isinstance(member, property):
                    found[f"{qualname}.{name}"] = Entry(member, _member_doc(cls, name))

    for package in PACKAGES:
        module = importlib.import_module(package)
        visit_module(module)
        # the public modules inside (found without importing them: monge.cli is never imported)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            name = f"{package}.{info.name}"
            if not info.name.startswith("_") and name not in ("monge.cli", *PACKAGES):
                visit_module(importlib.import_module(name))
    return found


API = public_api()


def _arguments(func) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    names = [name for name, parameter in signature.parameters.items()
             if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]
    return names[1:] if names and names[0] in ("self", "cls") else names


def _constructor_arguments(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [field.name for field in dataclasses.fields(cls) if field.init and not field.name.startswith("_")]
    init = next((vars(klass)["__init__"] for klass in cls.__mro__ if "__init__" in vars(klass)), None)
    if init is None or not _is_ours(init):
        return []
    return _arguments(init)


def _section(doc: str, *titles: str) -> bool:
    return any(re.search(rf"^\s*{title}\n\s*-{{3,}}\s*$", doc, re.MULTILINE) for title in titles)


def _unnamed(doc: str, arguments: list[str]) -> list[str]:
    """The arguments that the docstring does not name as a word."""
    return [name for name in arguments if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", doc)]


def problems(obj, doc: str | None) -> list[str]:
    """What is wrong with ``doc``, the docstring of ``obj``: an empty list when it follows the rule."""
    if not doc:
        return ["no docstring"]
    summary = doc.split("\n\n")[0].replace("\n", " ").strip()
    found = []
    if len(summary.split()) < 3:
        found.append(f"summary line too short: {summary!r}")
    if not summary.rstrip("`*)").endswith((".", ":", "!", "?")):
        found.append(f"summary line does not end a sentence: {summary!r}")
    if isinstance(obj, property):
        return found
    if inspect.isclass(obj):
        arguments, sections = _constructor_arguments(obj), ("Parameters", "Attributes")
    else:
        arguments, sections = _arguments(obj), ("Parameters",)
    if arguments and not _section(doc, *sections):
        missing = _unnamed(doc, arguments)
        if missing:
            found.append(f"no {' or '.join(sections)} section, and {', '.join(missing)} not named")
    return found


def test_the_api_is_found():
    # a walk that finds nothing would pass every check below
    for name in ["monge.transport.costs.cost_matrix", "monge.meanfield.energy.Energy",
                 "monge.meanfield.energy.Energy.first_variation", "monge.meanfield.examples.rbf",
                 "monge.metrics.accuracy", "monge.networks.perceptron.TwoLayer.forward", "monge.runs.Run",
                 "monge.training.supervised.fit", "monge.meanfield.grid.grid_flow"]:
        assert name in API, name
    assert len(API) > 250
    assert not any(".cli." in name for name in API)
    assert "monge.networks.perceptron.TwoLayer.train" not in API  # torch's, not ours


@pytest.mark.parametrize("qualname", sorted(API))
def test_docstring(qualname):
    entry = API[qualname]
    found = problems(entry.obj, entry.doc)
    assert not found, f"{qualname}: " + "; ".join(found)


def test_the_rule_catches_bad_docstrings():
    def terse(x, y):
        """Add them."""

    def unnamed(x, y):
        """Return the sum of the two numbers given."""

    def named(x, y):
        """Return ``x + y``, the sum of the two numbers ``x`` and ``y``."""

    def sectioned(x, y):
        """Return the sum of two numbers.

        Parameters
        ----------
        x, y : float
        """

    @dataclasses.dataclass
    class Bare:
        size: int

    assert problems(terse, None) == ["no docstring"]
    assert problems(terse, _own_doc(terse))[0].startswith("summary line too short")
    assert problems(unnamed, _own_doc(unnamed)) == ["no Parameters section, and x, y not named"]
    assert problems(named, _own_doc(named)) == []
    assert problems(sectioned, _own_doc(sectioned)) == []
    assert _class_doc(Bare) is None
    import torch

    class Net(torch.nn.Module):
        def forward(self, x):
            return x

    assert _member_doc(Net, "forward") is None  # torch's docstring of Module.forward does not count
