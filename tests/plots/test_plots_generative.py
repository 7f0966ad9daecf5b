import numpy as np
import pytest
import torch

from monge.plots.generative import interpolation_path, loss_curve, sample_grid, samples_over_data


def test_samples_over_data_one_panel_per_snapshot():
    data = np.random.default_rng(0).normal(size=(200, 2))
    fig = samples_over_data([(0, data[:50] * 0), (10, data[:50]), (20, torch.tensor(data[:50]))], data,
                            centres=np.zeros((8, 2)), title="demo")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["step 0", "step 10", "step 20"]
    with pytest.raises(ValueError, match="snapshots: empty"):
        samples_over_data([], data)
    with pytest.raises(ValueError, match=r"data: shape \(200, 3\)"):
        samples_over_data([(0, data)], np.zeros((200, 3)))


def test_sample_grid_rows_of_images():
    images = np.random.default_rng(0).uniform(0, 16, size=(5, 64))
    fig = sample_grid([("step 0", images), ("step 9", images.reshape(5, 1, 8, 8)[:3])])
    assert len(fig.axes) == 10
    assert fig.axes[0].get_ylabel() == "step 0" and fig.axes[5].get_ylabel() == "step 9"
    assert fig.axes[0].get_images()[0].get_array().shape == (8, 8)
    assert not fig.axes[9].get_images()  # the short row leaves its last cells empty
    with pytest.raises(ValueError, match="expected square images"):
        sample_grid([("a", np.zeros((2, 10)))])


def test_loss_curve_with_and_without_the_critic():
    records = [{"step": k, "loss": 1.0 / (k + 1), "lr": 0.1} for k in range(100)]
    fig = loss_curve([{"step": "assess"}, *records])
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "log"
    adversarial = [{"step": k, "generator_loss": -k, "critic_loss": 0.5, "critic_w1": 0.1 * k,
                    **({"exact_w1": 0.2 * k} if k % 5 == 0 else {})} for k in range(50)]
    fig = loss_curve(adversarial)
    assert len(fig.axes) == 2
    exact = [line for line in fig.axes[1].get_lines() if "exact" in line.get_label()][0]
    np.testing.assert_allclose(exact.get_ydata(), [0.2 * k for k in range(0, 50, 5)])
    with pytest.raises(ValueError, match="no record with step and loss"):
        loss_curve([{"step": 0}])


def test_interpolation_path_images_or_points():
    images = np.random.default_rng(0).uniform(0, 16, size=(6, 64))
    fig = interpolation_path(images, labels=[f"{k}" for k in range(6)])
    assert len(fig.axes) == 6 and fig.axes[-1].get_title() == "t = 1.00" and fig.axes[2].get_xlabel() == "2"
    t = np.linspace(0, 1, 20)
    fig = interpolation_path(np.stack([t, t ** 2], 1), data=np.zeros((10, 2)))
    path = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(path.get_ydata(), t ** 2)
    with pytest.raises(ValueError, match="labels: 2 labels for 6 images"):
        interpolation_path(images, labels=["a", "b"])
