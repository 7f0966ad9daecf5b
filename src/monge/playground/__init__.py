r"""``monge playground``: the texts' two central pictures, live in the browser, on monge's own solvers.

A local web app (:func:`create_app`, served by ``monge playground``) with one page and two boards:

- the **flow board** (chapter 3): the N neurons of a shallow network as particles of the
  Wasserstein gradient flow :math:`d\xi_i/dt = -\nabla\psi_\mu(\xi_i)`, moving live, beside
  :math:`f_\mu` and its target (the RBF example with its good and bad starts, a ReLU teacher, or a
  curve the user draws), with the energy and the dissipation (:mod:`.flow_board`);
- the **transport board** (chapter 2): two clouds of points the user clicks and drags, Monge's
  optimal matching, Kantorovich's plan and Sinkhorn's blurred plan re-solved as they move, and
  Figure 2.2's six points with the costs of all 720 permutations (:mod:`.transport_board`).

The page (``static/``: plain JavaScript and canvas, no CDN, no build step) draws; every number is
computed here, by :mod:`monge.meanfield` and :mod:`monge.transport`, and sent over one WebSocket
per page in the binary frames of :mod:`.protocol`.
"""

from .app import create_app

__all__ = ["create_app"]
