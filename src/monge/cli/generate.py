r"""``monge generate``: train a generative network of chapter 2 and write its run folder.

``monge generate --data gaussians8 --loss exact`` trains :math:`x = g_w(y)` by the text's
:math:`\min_w \mathrm{Distance}(\{g_w(y_i)\}, \{z_i\})` with Monge's exact matching of each
minibatch; ``--loss sinkhorn`` with the Sinkhorn divergence (``--rho R``: unbalanced, points may
be left partly unmatched), ``--loss sliced`` with sliced transport, ``--loss wgan|wgan-gp`` with a
critic that learns the cost (section 2.5). Every setting has a measured default per data set and
loss (:mod:`monge.training.generative_recipes`); ``--resume DIR`` continues a killed run from its
last checkpoint. The work is done by :func:`monge.experiments.generate.run`; this module maps the
flags to its :class:`~monge.experiments.generate.Config`.
"""

from __future__ import annotations

from monge.cli import _resume
from monge.data import POINT_SETS
from monge.errors import InputError
from monge.training.generative_recipes import LOSSES, NETWORKS

COMMAND = "generate"
# The settings a user may pass; each one's flag is --<name with dashes>.
FLAGS = ("data", "loss", "network", "latent", "widths", "batch", "steps", "lr", "p", "eps", "rho", "seed",
         "data_seed")


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.split(","))
    except ValueError:
        raise InputError(f"widths (--widths): {text!r}; expected comma-separated integers, e.g. 256,256,256") from None


def register(subparsers) -> None:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        COMMAND, help="train a generative network of chapter 2 by optimal transport (or adversarially) on toys, "
                      "digits or a file",
        description="Train a generator x = g_w(y) from random y so that its samples match the data: min_w "
                    "Distance({g_w(y_i)}, {z_i}) with Monge's exact matching of each minibatch (exact), the Sinkhorn "
                    "divergence (sinkhorn), sliced transport (sliced), or a critic that learns the cost (wgan: weight "
                    "clipping, wgan-gp: gradient penalty). Every option left out takes the default measured for the "
                    "data set and loss. The run folder gets config.json, metrics.jsonl, summary.json (w2_test against "
                    "w2_floor; modes_covered and high_quality for the toys; the class histogram of the samples for "
                    "digits), samples.npy, generator.pt (a state dict: torch.load(..., weights_only=True)), "
                    "checkpoints/last.pt and figures/.",
        epilog="A data FILE is .npy (an (n, d) array) or .csv (one point per line, an optional header) of points; it "
               "is split 75/25 at random (seeded by --data-seed) into training and held-out points.")
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="NAME|FILE", default=None,
                      help=f"{' | '.join(POINT_SETS)} | a .npy/.csv file of points (n, d) (default gaussians8)")
    data.add_argument("--data-seed", type=int, default=None, metavar="N",
                      help="seed of the data: the toys' points, the split of digits and files (default 0)")
    net = parser.add_argument_group("generator and training (defaults per data set and loss)")
    net.add_argument("--loss", choices=LOSSES, default=None,
                     help="exact: Monge's matching of each minibatch (the text's Distance, default); sinkhorn: "
                          "Sinkhorn divergence; sliced; wgan / wgan-gp: adversarial, a critic plays the cost")
    net.add_argument("--network", choices=NETWORKS, default=None,
                     help="mlp (default) or conv (upsampling convolutions, for images)")
    net.add_argument("--latent", type=int, default=None, help="dimension of the random input y")
    net.add_argument("--widths", default=None, metavar="W1,W2,...",
                     help="hidden widths (mlp) or channels (conv) of the generator")
    net.add_argument("--batch", type=int, default=None, help="samples per minibatch, generated and real")
    net.add_argument("--steps", type=int, default=None, help="optimizer steps (generator steps for wgan)")
    net.add_argument("--lr", type=float, default=None, help="(initial) learning rate")
    net.add_argument("--p", type=float, default=None,
                     help="transport losses: the cost |x - z|^p (default 1, the text's Monge cost)")
    net.add_argument("--eps", type=float, default=None,
                     help="sinkhorn: temperature in units of the cost (default 1e-2 diameter^p)")
    net.add_argument("--rho", type=float, default=None, metavar="R",
                     help="sinkhorn: unbalanced minibatch transport, the strength of the marginal penalties "
                          "R KL in units of the cost (default: balanced, every point matched)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default: runs/generate-<YYYYmmdd-HHMMSS>); must be new or empty (a "
                             "previous run is continued with --resume DIR, never overwritten)")
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the run in DIR from its last checkpoint, with its settings")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the weights, minibatches and latent codes (default 0)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads of torch (default 1: the fastest for these small networks on a shared CPU)")
    parser.add_argument("--judge", metavar="DIR", default=None,
                        help="digits: a finished `monge classify --data digits` run (convnet) whose network judges "
                             "the generated digits (default: train one into <out>/classifier, about 20 s)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Run ``monge generate`` from parsed arguments."""
    from monge.experiments import generate

    out, resume = _resume.folder(args)
    config = _resume.settings(generate, args, FLAGS, widths=None if args.widths is None else _widths(args.widths))
    generate.run(config, out, resume, quiet=args.quiet, threads=args.threads, judge=args.judge)
    return 0
