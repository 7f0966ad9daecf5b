"""Run flows sharded over 2 CPU processes (gloo) and save what rank 0 sees: used by test_distributed.

    python _distributed_run.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def problems():
    """The same problems as test_distributed.problems (imported there from here)."""
    from monge.meanfield import Energy, ReLUUnit, ShallowNetwork, examples

    unit = ReLUUnit(1)
    gen = torch.Generator().manual_seed(0)
    relu = ShallowNetwork(torch.randn(31, 3, generator=gen, dtype=torch.float64), unit)  # odd: shards of 16 and 15
    return {"quadrature": (relu, Energy(lambda x: torch.abs(x[:, 0]), (-1, 1), unit, lam=0.01, quadrature=64), "euler"),
            "closed": (*examples.rbf(25, seed=1, lam=0.01), "rk4")}


def run(net, energy, method):
    from monge.meanfield import flow

    return flow(net, energy, t_end=0.5, dt=0.05, method=method, snapshots=3)


def worker(rank: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{out}/store", rank=rank, world_size=2)
    from monge.meanfield import distributed

    saved = {}
    for name, (net, energy, method) in problems().items():
        result = run(net, energy, method)  # sharded automatically
        local = distributed.shard(net)
        saved.update({f"{name}_energy": result.energy, f"{name}_dissipation": result.dissipation,
                      f"{name}_grad_max": result.grad_max, f"{name}_snapshots": result.snapshots,
                      f"{name}_final": result.network.particles.numpy(), f"{name}_n_local": local.particles.shape[0],
                      f"{name}_value": energy.value(local),
                      f"{name}_psi": energy.first_variation(local, net.particles).numpy()})
    np.savez(Path(out) / f"rank{rank}.npz", **saved)
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(worker, args=(sys.argv[1],), nprocs=2, join=True)
