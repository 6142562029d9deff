"""The exceptions raised by ``graph/``.

::

    GraphError                  base of everything graph/ raises on purpose (a LinkgraphError)
     ├── GraphInputError        malformed input: bad shape, ids out of range, negative weights
     │                          (also a ValueError, so generic callers can catch that)
     └── ConvergenceError       an iterative method did not reach its tolerance in max_iter

An iterative method never returns a half-converged answer: it raises
:class:`ConvergenceError` and says how far it got.
"""

from __future__ import annotations

from linkgraph.errors import LinkgraphError

__all__ = ["ConvergenceError", "GraphError", "GraphInputError"]


class GraphError(LinkgraphError):
    """Base class of the errors raised by the ranking functions in ``graph/``."""


class GraphInputError(GraphError, ValueError):
    """The graph or a parameter is malformed (shape, id range, weights, distribution)."""


class ConvergenceError(GraphError):
    """An iterative method stopped at ``max_iter`` before its error fell below ``tol``.

    Attributes
    ----------
    iterations : int
        Iterations performed (equal to ``max_iter``).
    error : float
        The convergence measure after the last iteration (for PageRank, the L1 norm of
        the change made by the last iteration).
    tol : float
        The tolerance that was asked for.
    """

    def __init__(self, iterations: int, error: float, tol: float) -> None:
        self.iterations = iterations
        self.error = error
        self.tol = tol
        super().__init__(
            f"did not converge in {iterations} iterations: "
            f"last error {error:.3g} is above tol {tol:.3g}"
        )
