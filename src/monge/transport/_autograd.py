"""Values whose gradients a solver supplies: potentials, plans, implicit derivatives.

A solver computes its value without gradients, then attaches it to the inputs it depends on with
:func:`attach`; the backward pass calls the solver's own rule (the envelope theorem, or an
implicit derivative), only for the inputs that need a gradient, and only when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class _Attached(torch.autograd.Function):
    @staticmethod
    def forward(ctx, value, rule, *inputs):
        ctx.rule = rule
        ctx.shapes = [None if t is None else t.shape for t in inputs]
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        wanted = ctx.needs_input_grad[2:]
        grads = ctx.rule(grad, wanted)
        out = []
        for g, shape, need in zip(grads, ctx.shapes, wanted):
            if not need or g is None:
                out.append(None)
                continue
            while g.ndim > len(shape):  # an input shared by every problem of a batch
                g = g.sum(0)
            out.append(g.reshape(shape))
        return (grad, None, *out)  # the value's own graph (x, z, a cost) is kept


def attach(value: torch.Tensor, rule: Callable, inputs: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """``value``, differentiable in ``inputs`` by ``rule(grad, wanted) -> grads`` (and as before in
    whatever its own graph holds).

    ``rule`` gets the incoming gradient (shape of ``value``) and a tuple of booleans saying which
    inputs need a gradient; it returns one gradient (or None) per input, each of the input's
    shape, or with a leading batch dimension that is summed for an input shared by a batch.
    Inputs that are None or need no gradient cost nothing.
    """
    if not any(t is not None and t.requires_grad for t in inputs):
        return value
    return _Attached.apply(value, rule, *inputs)


def differentiable(value) -> torch.Tensor | None:
    """The user's argument when it is a tensor that needs a gradient, else None (nothing to attach)."""
    return value if isinstance(value, torch.Tensor) and value.requires_grad else None


def centred(potential: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
    r"""The gradient of a cost in weights normalised to mass 1: :math:`(f - \bar f) / m`.

    Along a direction that keeps the mass (the only ones the equal-mass constraint allows) this
    is the derivative; the mean is removed so that a gradient step stays on the simplex.
    """
    return (potential - potential.mean(-1, keepdim=True)) / mass.unsqueeze(-1)
