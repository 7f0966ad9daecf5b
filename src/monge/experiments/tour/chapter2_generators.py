"""Chapter 2 of the tour, second half: generators ``x = g_w(y)`` trained by optimal transport, and a WGAN-GP.

Five runs of :mod:`monge.experiments.generate`, two at a time: Monge's exact matching and the Sinkhorn divergence
on the 8 Gaussians and on the digits, and an adversarial network (WGAN-GP) on the 8 Gaussians.
The full tour uses the command's defaults (a WGAN-GP of 2000 steps instead of 4000, to keep the
tour within its 10 minutes); ``--quick`` trains each for a fraction of the steps.
"""

from __future__ import annotations

import json

from monge.runs import Run

from .common import Job, Section, TourConfig, figure_path, run_jobs

# folder -> (settings of the generate experiment, the quick tour's changes to them)
RUNS = {
    "generate-gaussians8-exact": ({"data": "gaussians8", "loss": "exact"}, {"steps": 600}),
    "generate-gaussians8-sinkhorn": ({"data": "gaussians8", "loss": "sinkhorn"}, {"steps": 250}),
    "generate-gaussians8-wgan-gp": ({"data": "gaussians8", "loss": "wgan-gp", "steps": 2000}, {"steps": 300}),
    "generate-digits-exact": ({"data": "digits", "loss": "exact"}, {"steps": 300}),
    "generate-digits-sinkhorn": ({"data": "digits", "loss": "sinkhorn"}, {"steps": 150}),
}


# The convnet that judges the generated digits: chapter 1's (same folder, same settings) when chapter
# 1 has run, else trained here first.
JUDGE = "classify-digits-convnet"


def _jobs(run: Run, config: TourConfig) -> tuple[dict[str, Job], dict[str, str]]:
    """The experiments (the judge first, unless chapter 1 left it) and which of them wait for the judge."""
    judged = (run.path / JUDGE / "summary.json").is_file()
    jobs = {} if judged else {JUDGE: Job("classify", {"data": "digits", **({"epochs": 8} if config.quick else {})})}
    after = {}
    for folder, (settings, quick) in RUNS.items():
        digits = settings["data"] == "digits"
        jobs[folder] = Job("generate", {**settings, **(quick if config.quick else {})},
                           {"judge": run.path / JUDGE} if digits else {})
        if digits:
            if not judged:
                after[folder] = JUDGE
    return jobs, after


def _toy_row(name: str, s: dict) -> dict:
    return {"generator": name, "steps": s["steps"], "modes": f"{s['modes_covered']}/{s['n_modes']}",
            "high quality": f"{100 * s['high_quality']:.1f}%", "W2 / floor": s["w2_ratio"],
            "CPU seconds": s.get("cpu_seconds", s["seconds"])}


def _digit_row(name: str, s: dict) -> dict:
    return {"generator": name, "steps": s["steps"], "W2 / floor": s["w2_ratio"],
            "classes: TV to uniform": s["class_tv"], "judge's confidence": s["class_confidence"],
            "CPU seconds": s.get("cpu_seconds", s["seconds"])}


def generators(run: Run, config: TourConfig) -> tuple[list[Section], dict]:
    """Train the five generators; return the report's sections and the measured figures."""
    jobs, after = _jobs(run, config)
    done = run_jobs(run, jobs, config.seed,
                           f"chapter 2: five generators and their judge ({'quick' if config.quick else 'full'} training)",
                           after)
    done.pop(JUDGE, None)
    judge = json.loads((run.path / JUDGE / "summary.json").read_text())
    folder = {name.removeprefix("generate-"): path for name, (path, _) in done.items()}
    s = {name.removeprefix("generate-"): summary for name, (_, summary) in done.items()}
    exact, sinkhorn, gan = s["gaussians8-exact"], s["gaussians8-sinkhorn"], s["gaussians8-wgan-gp"]
    digits, digits_sinkhorn = s["digits-exact"], s["digits-sinkhorn"]
    toys = [_toy_row("exact matching (Monge)", exact), _toy_row("Sinkhorn divergence", sinkhorn),
            _toy_row("WGAN-GP", gan)]

    gaussians = Section(
        "A generator trained by Monge's matching: 8 Gaussians",
        ["The text's generator x = g_w(y) maps random low-dimensional y (here 2-D) to the data space, and is "
         "trained by min_w Distance({g_w(y_1..n)}, {z_1..n}): each minibatch of generated points is matched to a "
         "minibatch of data by the best permutation (Monge's problem, solved exactly), and the weights follow the "
         "gradient of the matched distances. The data: 8 Gaussians on a circle (Gulrajani et al.'s gan_toy.py).",
         f"After {exact['steps']} steps ({exact.get('cpu_seconds', exact['seconds']):.0f} s of CPU) the samples "
         f"cover {exact['modes_covered']} of the {exact['n_modes']} modes, {100 * exact['high_quality']:.1f}% of "
         f"them within 3 standard deviations of a mode; W2 to held-out data is {exact['w2_ratio']:.2f} times the "
         "floor (W2 between two samples of the data). The cost is the text's |x - z| (p = 1): with p = 2 the "
         "matched gradient of each minibatch is biased towards the mean and the modes are bridged."],
        [(figure_path(folder["gaussians8-exact"], run, "samples_over_data.png"),
          "Exact matching: samples (red) over held-out data during training.")],
    )
    compare = Section(
        "The Sinkhorn divergence and an adversarial network beside it",
        ["The Sinkhorn divergence replaces the permutation by entropic transport (smooth in the points, cheaper for "
         "large batches); WGAN-GP lets a critic learn the transport: by Kantorovich's duality, W1 is the largest "
         "E f(z) - E f(g(y)) over 1-Lipschitz critics f, the critic plays the Kantorovich potential, and the "
         "gradient penalty keeps it near 1-Lipschitz.",
         f"Modes found: {', '.join(r['generator'] + ' ' + r['modes'] for r in toys)} (table). The adversarial run "
         "costs more network evaluations per step (5 critic steps per generator step, and the penalty's second "
         "derivatives) and learns the cost as it goes: its critic's estimate of W1 is drawn against the exact W1 "
         "of each batch, and its samples stay more spread between the modes."],
        [(figure_path(folder["gaussians8-sinkhorn"], run, "samples.png"), "Sinkhorn divergence: 2000 samples."),
         (figure_path(folder["gaussians8-wgan-gp"], run, "samples_over_data.png"),
          "WGAN-GP: samples over held-out data during training."),
         (figure_path(folder["gaussians8-wgan-gp"], run, "loss.png"),
          "WGAN-GP: the critic's estimate of W1 against the exact W1 of the batch.")],
        toys,
    )
    histogram = " ".join(f"{100 * h:.0f}" for h in digits["class_histogram"])
    digit_section = Section(
        "Generated digits, and class proportions preserved",
        ["The same generator on scikit-learn's 8 x 8 digits (1347 training images, 64 grey levels each), from a "
         "16-D latent code. The text's 'half dogs and half cats': transport moves all of the mass, so the "
         "generated classes keep the data's proportions. A convnet trained on real digits (chapter 1's, "
         f"{100 * judge['test_accuracy']:.1f}% on held-out digits) judges the generated ones.",
         f"Exact matching, {digits['steps']} steps: W2 to held-out digits {digits['w2_test']:.2f} against a floor "
         f"of {digits['w2_floor']:.2f} (ratio {digits['w2_ratio']:.2f}); classes 0-9 at {histogram} percent, "
         f"{digits['class_tv']:.3f} from uniform in total variation (real held-out digits: "
         f"{digits['test_class_tv']:.3f}), mean confidence of the judge {digits['class_confidence']:.2f}. "
         f"The Sinkhorn divergence, {digits_sinkhorn['steps']} steps: ratio {digits_sinkhorn['w2_ratio']:.2f}, "
         f"{digits_sinkhorn['class_tv']:.3f} from uniform."],
        [(figure_path(folder["digits-exact"], run, "samples.png"), "Exact matching: 100 generated digits."),
         (figure_path(folder["digits-sinkhorn"], run, "samples.png"), "Sinkhorn divergence: 100 generated digits.")],
        [_digit_row("exact matching (Monge)", digits), _digit_row("Sinkhorn divergence", digits_sinkhorn)],
    )
    path = Section(
        "Figure 2.3: interpolation paths",
        ["The text's Figure 2.3 walks the latent space in a straight line, g((1 - t) y0 + t y1), from a generated "
         "cat to a generated dog. Here from one generated digit to another of a different class: the path passes "
         "through images of the data's shape, because the generator maps the whole latent space onto the data's "
         "neighbourhood."],
        [(figure_path(folder["digits-exact"], run, "interpolation.png"), "A straight latent path between two classes.")],
    )
    results = {}
    for name, summary in s.items():
        key = name.replace("-", "_")
        results[f"{key}_w2_ratio"] = summary["w2_ratio"]
        if "modes_covered" in summary:
            results[f"{key}_modes"] = summary["modes_covered"]
            results[f"{key}_high_quality"] = summary["high_quality"]
        if "class_tv" in summary:
            results[f"{key}_class_tv"] = summary["class_tv"]
        results[f"{key}_cpu_seconds"] = summary.get("cpu_seconds", summary["seconds"])
    return [gaussians, compare, digit_section, path], results
