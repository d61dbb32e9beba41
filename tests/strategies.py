"""Hypothesis strategies shared by the test modules.

Shapes are small (sides up to 4, at most 3 dimensions, 0-d included) so a
finite-difference check stays fast. Value strategies keep inputs where the
function is smooth: away from kinks (relu at 0), ties (max), poles (1/x)
and overflow (exp).

    from strategies import shapes, broadcastable_shapes, arrays

Central differences are not here: tests use ``bpkit.gradcheck.numerical_grad``,
the one implementation the notebooks use too.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "shapes",
    "broadcastable_shapes",
    "matmul_shapes",
    "arrays",
    "arrays_away_from_zero",
    "arrays_without_ties",
    "axes",
    "weights_like",
]


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes, e.g. (), (3,), (2, 1, 4)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together, e.g. ((3, 1), (4,))."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


@st.composite
def matmul_shapes(draw, max_side=4):
    """Shape pairs valid for ``a @ b``: vector.vector, matrix.vector, vector.matrix,
    matrix.matrix, and batched (>2-D, with broadcast batch axes, possibly with a 1-D side)."""
    n, k, m = (draw(st.integers(1, max_side)) for _ in range(3))
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "mm":
        return (n, k), (k, m)
    ba, bb = draw(broadcastable_shapes(min_dims=0, max_dims=2, max_side=3))
    if not ba and not bb:
        ba = (2,)
    sa, sb = ba + (n, k), bb + (k, m)
    side = draw(st.sampled_from(["both", "a_vector", "b_vector"]))
    if side == "a_vector" and bb:
        sa = (k,)
    elif side == "b_vector" and ba:
        sb = (k,)
    return sa, sb


def arrays(shape, low=-2.0, high=2.0):
    """float64 arrays of ``shape`` with entries in [low, high]."""
    return hnp.arrays(np.float64, shape,
                      elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def arrays_away_from_zero(shape, margin=0.1, high=2.0):
    """float64 arrays with every |entry| in [margin, high] (either sign)."""
    return st.tuples(arrays(shape, margin, high), hnp.arrays(np.bool_, shape)).map(
        lambda t: np.where(t[1], t[0], -t[0]))


@st.composite
def arrays_without_ties(draw, shape, spacing=0.5):
    """float64 arrays whose entries all differ by at least 0.6 * spacing (for max)."""
    n = int(np.prod(shape, dtype=int))
    order = draw(st.permutations(range(n)))
    jitter = draw(arrays((n,), -0.2 * spacing, 0.2 * spacing))
    values = (np.asarray(order, dtype=np.float64) - n / 2) * spacing + jitter
    return values.reshape(shape)


def axes(ndim):
    """The ``axis`` argument of a reduction over an ndim-D array: None, an int
    (possibly negative) or a tuple of distinct axes."""
    if ndim == 0:
        return st.none()
    return st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                 unique_by=lambda a: a % ndim).map(tuple),
    )


def weights_like(shape):
    """Random weights w for the scalar test function sum(out * w)."""
    return arrays(shape, -2.0, 2.0)

