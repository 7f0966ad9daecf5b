import numpy as np
import pytest
import torch

from monge.errors import InputError
from monge.plots.classify import confusion_figure, decision_regions, learning_curves


def _records(n=5):
    return [{"epoch": k, "train_loss": 1 / (k + 1), "test_loss": 1.2 / (k + 1), "train_accuracy": 0.5 + 0.1 * k,
             "test_accuracy": 0.45 + 0.1 * k} for k in range(n)]


def test_learning_curves_show_train_and_test():
    fig = learning_curves([{"step": "other"}, *_records()], title="demo")
    loss, acc = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["train", "test"]
    np.testing.assert_allclose(acc.get_lines()[1].get_ydata(), [45, 55, 65, 75, 85])
    assert "train 90.00%, test 85.00%" in acc.get_title()
    with pytest.raises(InputError, match="no record with epoch"):
        learning_curves([{"epoch": 0}])


def test_confusion_figure_counts_errors():
    fig = confusion_figure(torch.tensor([[5, 1], [0, 4]]), ["cat", "dog"])
    ax = fig.axes[0]
    assert "9 of 10 correct, 1 errors" in ax.get_title()
    assert sorted(t.get_text() for t in ax.texts) == ["1", "4", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    with pytest.raises(InputError, match="square"):
        confusion_figure(np.zeros((2, 3)))


def test_decision_regions_two_and_three_classes():
    x = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 1, 1])
    fig = decision_regions(lambda p: torch.stack([-p[:, 0], p[:, 0]], 1), x, y, x, y, n_classes=2, resolution=20)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (20, 20) and image[:, 0].max() < 0.5 < image[:, -1].min()  # class 1 on the right
    three = decision_regions(lambda p: torch.stack([p[:, 0], -p[:, 0], p[:, 1]], 1), x, torch.tensor([0, 1, 2]),
                             x, torch.tensor([0, 1, 2]), n_classes=3, resolution=10)
    assert set(np.unique(three.axes[0].get_images()[0].get_array())) <= {0, 1, 2}
    with pytest.raises(InputError, match="points of the plane"):
        decision_regions(lambda p: p, torch.zeros(3, 3), y, x, y, n_classes=2)
