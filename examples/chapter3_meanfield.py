"""Chapter 3: a shallow network as a Wasserstein gradient flow of its neurons (Rotskoff et al. 2019).

``N = 200`` Gaussian bumps ``Phi((c, y), x) = c N(x; y, 0.5)`` make the network
``F_N(x) = 1/N sum_i c_i N(x; y_i, 0.5)``, a measure ``mu`` of neurons ``xi = (c, y)``. Gradient
descent on ``F(mu) = 1/2 int (f - f_mu)^2 dx`` is, for the particles, ``d xi_i/dt = -grad psi_mu(xi_i)``
with ``psi_mu = dF/dmu`` the first variation, and for the measure the Wasserstein gradient flow
``d/dt mu = div(mu grad psi_mu)``. The script prints:

- the energy falling along the particle flow (from about 0.065 to below 1e-3 by t = 30), and
  the largest speed ``|grad psi_mu(xi_i)|`` of a neuron with it;
- the dissipation identity ``F(t) - F(0) = -int_0^t D(s) ds``, ``D = sum_i a_i |grad psi_mu(xi_i)|^2``,
  checked on the records (relative error);
- the same flow solved for the density of neurons on an 80 x 40 grid over ``(c, y)``, started from
  the particles' law: its mass is kept to round-off, its energy never rises, and its W2 to the
  particles is their sampling error.

Run it from the repository root (about 5 s on one CPU core)::

    python examples/chapter3_meanfield.py
"""

from __future__ import annotations

import time

import torch

from monge.meanfield import examples, flow
from monge.meanfield.diagnostics import dissipation_error
from monge.meanfield.grid import RBF_BOX, Grid, grid_flow, grid_wasserstein, rbf_law


def main() -> dict:
    """Run the particle flow and the grid flow of the RBF example; return their figures."""
    torch.set_num_threads(1)  # small problems: one thread is fastest on a shared CPU
    start = time.perf_counter()

    # N = 200 bumps, c ~ N(0, 1), y ~ U[-2, 2]; target f = 1/3 [N(-2, 0.5) - 2 N(0, 1) + N(2, 0.5)] on R.
    net, energy = examples.rbf(n=200, seed=0)
    particles = flow(net, energy, t_end=30.0, dt=0.01, record_every=0.1)  # Euler, as Rotskoff et al.
    times, values = particles.times, particles.energy
    for t in (0.0, 1.0, 3.0, 10.0, 30.0):
        k = int(abs(times - t).argmin())
        print(f"particles, t = {times[k]:4.1f}: F = {values[k]:.2e}, max_i |grad psi_mu(xi_i)| = "
              f"{particles.grad_max[k]:.1e}")
    error = dissipation_error(particles)
    final = particles.network
    print(f"F recomputed from the final neurons: {energy.value(final):.2e}; dissipation identity "
          f"F(t) - F(0) = -int_0^t D: relative error {error:.1e}")

    # The density of neurons over (c, y) on 80 x 40 cells, from the same law, by the same flow.
    grid = Grid(*RBF_BOX, shape=(80, 40))
    density = grid_flow(grid.product_law(rbf_law()), grid, energy, t_end=2.0, dt=0.01)
    at_two = flow(net, energy, t_end=2.0, dt=0.01)
    gap = grid_wasserstein(at_two.network.particles, density.density, grid)
    print(f"grid, t = 2: F = {float(density.energy[-1]):.2e} (particles {at_two.energy[-1]:.2e}), mass "
          f"{float(density.mass[-1]):.15f}, min density {float(density.rho_min.min()):.1e}, "
          f"W2 to the particles {gap:.3f}")

    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"times": times.tolist(), "energy": values.tolist(), "grad_max": particles.grad_max.tolist(),
            "final_energy": energy.value(final), "dissipation_error": error,
            "grid_energy": density.energy.tolist(), "grid_mass": density.mass.tolist(),
            "grid_rho_min": float(density.rho_min.min()), "particle_energy_t2": float(at_two.energy[-1]),
            "w2_particles_grid": gap, "seconds": seconds}


if __name__ == "__main__":
    main()
