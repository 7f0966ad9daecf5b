"""Chapter 1: the two-layer network of Figure 1.1, trained by back-propagation on real digits.

A neuron computes ``u = max(w.x + b, 0)``; the network of Figure 1.1 is
``f_w(x) = W2 max(W1 x + b1, 0) + b2``, trained by back-propagation on the text's squared error
``E(w) = sum_i |f_w(x_i) - y_i|^2`` (one-hot ``y_i``) over scikit-learn's 8x8 digits. The script
prints the test accuracy (generalisation: digits the network never saw), then fits two-layer ReLU
networks of growing width to ``f*(x) = sin(2 pi x) + 0.3 cos(7 x)`` on [0, 1] and prints the sup
error falling as the width grows (Cybenko's universal approximation, section 1.4).

Run it from the repository root (about 5 s on one CPU core)::

    python examples/chapter1_networks.py
"""

from __future__ import annotations

import tempfile
import time

import torch

from monge.networks import TwoLayer, count_parameters
from monge.training.approximation import approximate
from monge.training.recipes import SupervisedConfig
from monge.training.supervised import fit


def main() -> dict:
    """Train Figure 1.1's network on the digits, sweep the width of a 1-D fit; return the figures."""
    torch.set_num_threads(1)  # small matrices: one thread is fastest on a shared CPU
    start = time.perf_counter()

    # Figure 1.1: u = max(W1 x + b1, 0), y = W2 u + b2 (TwoLayer), on E(w) = sum (f_w(x) - y)^2.
    with tempfile.TemporaryDirectory() as out:
        trained = fit(SupervisedConfig(data="digits", model="two-layer", loss="squared"), out=out)
    net = trained.model
    assert isinstance(net, TwoLayer)
    summary = trained.summary
    print(f"Figure 1.1 on the digits: {net.d_in} inputs, {net.width} neurons, "
          f"{count_parameters(net):,} weights, {summary['epochs']} epochs of back-propagation on E(w)")
    print(f"  train accuracy {summary['train_accuracy']:.1%}, test accuracy {summary['test_accuracy']:.1%}")

    # Universal approximation: the sup error of the best two-layer ReLU fit falls as the width grows.
    widths = [2, 8, 32, 128]
    fitted = approximate("sine", widths=widths, steps=100)
    for n, sup, l2 in zip(fitted.widths, fitted.sup_error, fitted.l2_error):
        print(f"  width {n:3d}: sup error {sup:.1e}, L2 error {l2:.1e}")
    print(f"  L2 error ~ width^{fitted.l2_slope:.2f} (piecewise-linear interpolation: width^-2)")

    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"test_accuracy": summary["test_accuracy"], "train_accuracy": summary["train_accuracy"],
            "weights": count_parameters(net), "widths": list(fitted.widths), "sup_error": list(fitted.sup_error),
            "l2_error": list(fitted.l2_error), "l2_slope": fitted.l2_slope, "seconds": seconds}


if __name__ == "__main__":
    main()
