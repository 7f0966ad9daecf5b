"""Suite ``training``: monge's supervised training (the shared Loop) against a bare PyTorch loop.

Same data, network, optimizer, learning-rate schedule, epochs, shuffling, augmentation and seed;
both evaluate the loss and accuracy on the training and the test split after every epoch (what
``monge classify`` reports). The difference is the machinery: monge writes ``config.json``, a
checkpoint every epoch (atomically, fsync'ed, with every optimizer, schedule and RNG state), a
line of ``metrics.jsonl`` per epoch, the NaN watchdog and ``summary.json``; the bare loop keeps
nothing. Both end with bit-identical weights (checked: the test losses must be equal). A third,
informative contender trains without the per-epoch evaluation. Figures (CLI only) are not timed.
The target: monge / bare <= 1.05.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import tempfile

from harness import Contender, compare, fmt_time

NAME = "training"
MONGE, BARE, BARE_TRAIN = "monge (Loop, checkpoints, metrics)", "bare torch (same evaluation)", "bare torch, no evaluation"
COLUMNS = [MONGE, BARE, BARE_TRAIN]
TARGET = 1.05


def cases(quick: bool) -> list[dict]:
    """The default digits convnet (10 of its 30 epochs), Figure 1.1's network on digits, MNIST-1D's MLP."""
    if quick:
        return [{"data": "digits", "model": "two-layer", "epochs": 2}]
    return [{"data": "digits", "model": "convnet", "epochs": 10},
            {"data": "digits", "model": "two-layer", "epochs": 40},
            {"data": "mnist1d", "model": "mlp", "epochs": 20}]


def bare_loop(config, data, evaluate: bool = True):
    """Train as :func:`monge.training.supervised.train` does, in plain PyTorch; the final test loss."""
    import torch

    from monge.data import random_shift
    from monge.training.recipes import build_model, build_optimizer, build_schedule
    from monge.runs import seed_everything
    from monge.training.supervised import LOSSES

    seed_everything(config.seed)
    model = build_model(config, data)
    optimizer = build_optimizer(config, model)
    schedule = build_schedule(config, optimizer, config.epochs * math.ceil(data.n_train / config.batch))
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = LOSSES[config.loss]

    def measure(x, y):
        model.eval()
        with torch.no_grad():
            scores = torch.cat([model(chunk) for chunk in x.split(2048)])
        return loss_fn(scores, y).item(), (scores.argmax(1) == y).float().mean().item()

    for _ in range(config.epochs):
        model.train()
        for batch in torch.randperm(data.n_train, generator=generator).split(config.batch):
            xb = data.x_train[batch]
            if config.shift:
                xb = random_shift(xb, config.shift, generator)
            loss = loss_fn(model(xb), data.y_train[batch], config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        if evaluate:
            measure(data.x_train, data.y_train)
            measure(data.x_test, data.y_test)
    return measure(data.x_test, data.y_test)[0]


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time monge's ``train`` and the bare loops on one (data, model, epochs); their final test losses."""
    from monge.data import load
    from monge.training.recipes import SupervisedConfig, resolve
    from monge.runs import Run, seed_everything
    from monge.training.supervised import train

    data = load(params["data"])
    config = resolve(SupervisedConfig(data=params["data"], model=params["model"], epochs=params["epochs"],
                                      seed=seed), data)
    folders: list[str] = []

    def monge_run(cfg=config):
        seed_everything(cfg.seed)
        folders.append(tempfile.mkdtemp(prefix="monge-bench-"))
        run = Run.create("classify", cfg, out=folders[-1], quiet=True)
        return train(cfg, data, run, progress=False).summary["test_loss"]

    def cleaned(value):
        while folders:
            shutil.rmtree(folders.pop(), ignore_errors=True)
        return value

    tiny = resolve(SupervisedConfig(data=params["data"], model=params["model"], epochs=1, seed=seed), data)
    contenders = [Contender(MONGE, monge_run, cleaned, lambda: cleaned(monge_run(tiny))),
                  Contender(BARE, lambda: bare_loop(config, data), float, lambda: bare_loop(tiny, data)),
                  Contender(BARE_TRAIN, lambda: bare_loop(config, data, evaluate=False), float,
                            lambda: bare_loop(tiny, data, evaluate=False))]
    stats = compare(contenders, repeats, progress)
    record = {"suite": NAME, "params": params, "repeats": repeats, "stats": stats, "epochs": config.epochs,
              "batch": config.batch, "n_train": data.n_train,
              "tensorboard": importlib.util.find_spec("tensorboard") is not None,  # the Loop logs to it if installed
              "ratio": stats[MONGE]["median"] / stats[BARE]["median"],
              "ratio_min": stats[MONGE]["min"] / stats[BARE]["min"],
              "identical": stats[MONGE]["value"] == stats[BARE]["value"] == stats[BARE_TRAIN]["value"],
              "evaluation_share": 1 - stats[BARE_TRAIN]["median"] / stats[BARE]["median"]}
    return record


HEADERS = ["data", "model", "epochs", *COLUMNS, "monge / bare (median; min)", "evaluation's share of bare",
           "same final weights"]


def row(rec: dict) -> list[str]:
    """One Markdown row: times, the overhead ratio, and the agreement of the final test losses."""
    p, s = rec["params"], rec["stats"]
    return [p["data"], p["model"], str(p["epochs"]), *(fmt_time(s[name]) for name in COLUMNS),
            f"**{rec['ratio']:.3f}x**; {rec['ratio_min']:.3f}x", f"{100 * rec['evaluation_share']:.0f}%",
            "yes" if rec["identical"] else "NO"]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """Loop overhead <= 5% over the bare loop (median times), and bit-identical training."""
    out = []
    for r in records:
        p = r["params"]
        out.append((f"{p['data']} {p['model']}, {p['epochs']} epochs: monge / bare = {r['ratio']:.3f} <= {TARGET}",
                    r["ratio"] <= TARGET))
        out.append((f"{p['data']} {p['model']}: monge and the bare loop end with the same weights (equal test loss)",
                    bool(r["identical"])))
    return out
