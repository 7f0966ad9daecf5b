r"""``monge classify``: train a discriminative network of chapter 1 and write its run folder.

``monge classify --data digits --model convnet`` trains the convolutional network of section 1.4
on scikit-learn's digits (above 99% test accuracy, in about ten seconds on one CPU core);
``--model two-layer --loss squared`` is Figure 1.1's network trained on the text's
:math:`E(w) = \sum (f_w(x) - y)^2`. Every setting has a measured default per data set and model
(:mod:`monge.training.recipes`). ``--resume DIR`` continues a killed run exactly where its last
checkpoint left it.
"""

from __future__ import annotations

from monge.cli import _resume
from monge.data import DATASETS
from monge.training.recipes import LOSSES, MODELS, OPTIMIZERS, SCHEDULES

COMMAND = "classify"
# The settings a user may pass; each one's flag is --<name with dashes>.
FLAGS = ("data", "model", "loss", "width", "depth", "epochs", "lr", "optimizer", "momentum", "schedule", "batch",
         "weight_decay", "dropout", "label_smoothing", "shift", "seed", "data_seed", "n_samples", "noise")


def register(subparsers) -> None:
    """Add the ``classify`` subcommand."""
    parser = subparsers.add_parser(
        COMMAND, help="train a network of chapter 1 (two-layer, MLP, convnet) on digits, MNIST-1D, toys or a file",
        description="Supervised training of a discriminative network (chapter 1 of the text). Every option left out "
                    "takes the default measured for the data set and model; the run folder gets config.json, "
                    "metrics.jsonl (per epoch: train and test loss and accuracy), summary.json, "
                    "checkpoints/last.pt (the weights: torch.load(..., weights_only=True)['modules']['model']) "
                    "and figures/.",
        epilog="A data FILE is .csv (one sample per line, the last column the integer label 0..K-1, an optional "
               "header), .npy (an (n, d+1) array: features, then the label) or .npz (arrays x (n, d), (n, H, W) or "
               "(n, C, H, W) and y (n,)); it is split 75/25 (stratified, seeded by --data-seed).")
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="NAME|FILE", default=None,
                      help=f"{' | '.join(DATASETS)} | a .csv/.npy/.npz file (default digits)")
    data.add_argument("--data-seed", type=int, default=None, metavar="N",
                      help="seed of the data: the split, the toys' points, MNIST-1D (default 0: the published set)")
    data.add_argument("--n-samples", type=int, default=None, metavar="N", help="toys: number of points (default 1000)")
    data.add_argument("--noise", type=float, default=None, help="toys: noise level (default per toy)")
    net = parser.add_argument_group("network and training (defaults per data set and model)")
    net.add_argument("--model", choices=MODELS, default=None,
                     help="default convnet for images and signals, two-layer for vectors (2-D points)")
    net.add_argument("--loss", choices=LOSSES, default=None,
                     help="squared: the text's E(w) = sum (f_w(x) - y)^2 on one-hot y; default cross-entropy")
    net.add_argument("--width", type=int, default=None,
                     help="hidden neurons (two-layer, mlp) or channels of the first stage (convnet)")
    net.add_argument("--depth", type=int, default=None, help="hidden layers (mlp) or stages (convnet)")
    net.add_argument("--epochs", type=int, default=None)
    net.add_argument("--lr", type=float, default=None, help="(peak) learning rate")
    net.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default adam (AdamW)")
    net.add_argument("--momentum", type=float, default=None, help="of sgd (default 0.9)")
    net.add_argument("--schedule", choices=SCHEDULES, default=None, help="learning rate per step (default onecycle)")
    net.add_argument("--batch", type=int, default=None, help="samples per step")
    net.add_argument("--weight-decay", type=float, default=None)
    net.add_argument("--dropout", type=float, default=None)
    net.add_argument("--label-smoothing", type=float, default=None, help="cross-entropy default 0.1; squared 0")
    net.add_argument("--shift", type=int, default=None, help="augmentation: random shifts of images and signals "
                                                             "by up to this many pixels")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default: runs/classify-<YYYYmmdd-HHMMSS>); must be new or empty (a "
                             "previous run is continued with --resume DIR, never overwritten)")
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the run in DIR from its last checkpoint, with its settings")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the weights, shuffling, augmentation and dropout (default 0)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads of torch (default 1: the networks of chapter 1 are small, and one thread "
                             "is the fastest for them on a shared CPU)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Run ``monge classify`` from parsed arguments."""
    from monge.experiments import classify

    out, resume = _resume.folder(args)
    classify.run(_resume.settings(classify, args, FLAGS), out, resume, quiet=args.quiet, threads=args.threads)
    return 0
