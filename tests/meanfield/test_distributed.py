"""Particles sharded over 2 processes (torch.distributed, gloo on the CPU) give the one-process result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _distributed_run  # noqa: E402

from monge.meanfield import distributed  # noqa: E402


def test_two_processes_equal_one(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(Path(_distributed_run.__file__)), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    for name, (net, energy, method) in _distributed_run.problems().items():
        single = _distributed_run.run(net, energy, method)
        assert ranks[0][f"{name}_n_local"] + ranks[1][f"{name}_n_local"] == net.n
        for rank in ranks:
            np.testing.assert_allclose(rank[f"{name}_energy"], single.energy, rtol=1e-12)
            np.testing.assert_allclose(rank[f"{name}_dissipation"], single.dissipation, rtol=1e-10)
            np.testing.assert_allclose(rank[f"{name}_grad_max"], single.grad_max, rtol=1e-10)
            np.testing.assert_allclose(rank[f"{name}_snapshots"], single.snapshots, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(rank[f"{name}_final"], single.network.particles.numpy(), rtol=1e-10, atol=1e-13)
            assert float(rank[f"{name}_value"]) == pytest.approx(energy.value(net), rel=1e-12)
            np.testing.assert_allclose(rank[f"{name}_psi"], energy.first_variation(net, net.particles).numpy(),
                                       rtol=1e-10, atol=1e-14)


def test_not_distributed():
    net, _, _ = _distributed_run.problems()["closed"]
    assert not distributed.active()
    assert distributed.gather(net) is net
    with pytest.raises(ValueError, match="group"):
        distributed.shard(net)
    from monge.meanfield import flow

    with pytest.raises(ValueError, match="distributed=True"):
        flow(net, _distributed_run.problems()["closed"][1], 1.0, 0.1, distributed=True)


def test_init_from_env_outside_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init_from_env() is False
