import json

import numpy as np
import pytest
import torch

from monge.data import load_points
from monge.errors import InputError
from monge.metrics import w2_floor
from monge.networks import MLPGenerator
from monge.training.assessment import assess, digits_classifier, generate, interpolation, judge_settings


class _Data(MLPGenerator):
    """A 'generator' that returns data points: y's first coordinate picks one (for known answers)."""

    def __init__(self, points):
        super().__init__(1, [], (2,))
        self.points = points

    def forward(self, y):
        index = (torch.special.ndtr(y[:, 0]) * len(self.points)).long().clamp(max=len(self.points) - 1)
        return self.points[index]


def test_assess_toy_samples_of_the_data_itself():
    points = load_points("gaussians8", n_train=2000, n_test=500)
    result = assess(points.train[:1500], points)
    assert result["modes_covered"] == 8 and result["n_modes"] == 8 and result["high_quality"] > 0.97
    assert result["n_w2"] == 500 and result["w2_ratio"] == pytest.approx(result["w2_test"] / result["w2_floor"])
    assert 0.5 < result["w2_ratio"] < 2
    collapsed = assess(points.train[:1].repeat(600, 1), points)
    assert collapsed["modes_covered"] == 1 and collapsed["w2_ratio"] > 3


def test_generate_in_data_units_and_interpolation_between_two_modes():
    points = load_points("gaussians8", n_train=3000, n_test=100)
    g = _Data(points.train)
    samples = generate(g, points, 5000)
    assert samples.shape == (5000, 2) and samples.dtype == torch.float32
    assert torch.equal(samples, generate(g, points, 5000))  # fixed latent codes
    path = interpolation(g, points, n_points=7)
    a, b = path["ends"]
    centres = points.modes.centres
    assert a != b and np.linalg.norm(centres[a] - centres[b]) == pytest.approx(2 / 1.414 * np.sqrt(2 - np.sqrt(2)))
    ends = path["path"][[0, -1]].numpy()
    assert np.linalg.norm(ends[0] - centres[a]) < 0.05 and np.linalg.norm(ends[1] - centres[b]) < 0.05
    assert path["t"][0] == 0 and path["t"][-1] == 1 and path["path"].shape == (7, 2)


def test_interpolation_between_two_classes_of_a_classifier():
    points = load_points("gaussians8", n_train=3000, n_test=100)
    g = _Data(points.train)

    def classifier(x):  # class 0 on the right half-plane, class 1 on the left
        return torch.stack([x[:, 0], -x[:, 0]], 1) * 10

    path = interpolation(g, points, classifier, n_points=5)
    assert path["ends"] == [0, 1]
    assert path["labels"][0].startswith("0 (") and path["labels"][-1].startswith("1 (")


def test_the_floor_is_measured_at_the_samples_n():
    points = load_points("gaussians8", n_train=3000, n_test=1000)
    result = assess(points.train[:300], points)
    assert result["n_w2"] == 300 and result["n_samples"] == 300
    assert result["w2_floor"] == w2_floor(points.train, points.test, n=300)


def test_a_judge_is_trained_into_its_folder_then_read_back(tmp_path):
    folder = tmp_path / "judge"
    trained = digits_classifier(folder, epochs=1)
    assert json.loads((folder / "config.json").read_text())["epochs"] == 1 and (folder / "summary.json").is_file()
    images = load_points("digits").test[:50]
    scores = trained(images)
    assert scores.shape == (50, 10)
    torch.testing.assert_close(digits_classifier(folder)(images), scores)


def test_a_judge_must_be_a_digits_convnet(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"command": "classify", "data": "moons", "model": "mlp"}))
    with pytest.raises(InputError, match=r"^judge \(--judge\): .* expected a finished monge classify run with data "
                                         "digits and model convnet"):
        judge_settings(tmp_path)
    with pytest.raises(InputError, match=r"^judge \(--judge\): .* has no readable config.json"):
        judge_settings(tmp_path / "nothing")
