"""Chapter 04 (Backpropagation): references and test cases.

Part 1 is the learner's scalar engine: ``Node`` (given in the notebook, copied
here so the checks can build graphs), ``local_grads`` (4.1),
``topological_order`` (4.2), ``backward`` (4.3) and the local derivatives of
the two ops a classifier still needs, ``local_grads_more`` (4.4: log, relu).
Part 2 is the matrix form: one entry of BP2 derived by index (4.5,
``delta_entry``) and an MLP's backward pass by hand in numpy (4.6), paired
with ``mlp_forward``.

Shapes use the course's row-major batch convention: X: (N, D), W: (D, H),
b: (H,), Z = X @ W + b: (N, H).
"""
import math
from typing import NamedTuple

import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "Node", "local_grads", "local_grads_more", "topological_order", "backward",
           "delta_entry", "MLPCache", "mlp_forward", "mlp_backward", "init_mlp"]


# ----------------------------------------------------------------------------
# the learner's scalar engine

class Node:
    """One number in a computational graph (the notebook's engine, chapter 04).

    data: the number; grad: d(root)/d(this node), filled by backward;
    _prev: the input nodes (a tuple, empty for a leaf); _op: "+", "*", "tanh",
    "exp", "log", "relu" or "" for a leaf. Plain numbers mixed in become leaf Nodes.
    """

    def __init__(self, data, _prev=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Node(data={self.data:.4f}, grad={self.grad:.4f})"

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        return Node(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        return Node(self.data * other.data, (self, other), "*")

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        return Node(math.tanh(self.data), (self,), "tanh")

    def exp(self):
        return Node(math.exp(self.data), (self,), "exp")

    def log(self):
        return Node(math.log(self.data), (self,), "log")

    def relu(self):
        return Node(max(self.data, 0.0), (self,), "relu")


def local_grads(op, inputs, out):
    """Exercise 4.1: d out / d input for each input of one op, as a tuple of floats.

    op: "+", "*", "tanh" or "exp"; inputs: tuple of the inputs' values (floats);
    out: the op's output value (reusing it saves work for tanh and exp).
    The reference also knows "log" and "relu" (Exercise 4.4), so that the
    reference ``backward`` runs on the chapter's classifier too.
    """
    if op in ("log", "relu"):
        return local_grads_more(op, inputs, out)
    if op == "+":
        return (1.0, 1.0)
    if op == "*":
        a, b = inputs
        return (b, a)
    if op == "tanh":
        return (1.0 - out ** 2,)
    if op == "exp":
        return (out,)
    raise ValueError(f"local_grads: unknown op {op!r}")


def local_grads_more(op, inputs, out):
    """Exercise 4.4: the local derivative of "log" (natural log) and "relu", as a 1-tuple.

    relu at exactly 0 takes 0 (PyTorch's subgradient); other ops raise ValueError.
    """
    (x,) = inputs
    if op == "log":
        return (1.0 / x,)
    if op == "relu":
        return (1.0 if x > 0 else 0.0,)
    raise ValueError(f"local_grads_more: unknown op {op!r}")


def topological_order(root):
    """Exercise 4.2: every node reachable from root, each after all of its inputs (root last).

    Iterative (an explicit stack), so a chain of 100 000 nodes is fine; each
    node appears once even when several nodes use it.
    """
    order, done = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if id(node) in done:
            continue
        if inputs_done:
            done.add(id(node))
            order.append(node)
        else:
            stack.append((node, True))
            for parent in reversed(node._prev):     # reversed: the first input comes out first
                if id(parent) not in done:
                    stack.append((parent, False))
    return order


def backward(root):
    """Exercise 4.3: fill .grad of every node root depends on with d root / d node.

    Assumes every grad starts at 0.0 (a fresh graph). Gradients are ADDED
    (+=): a node used twice receives one contribution per use.
    """
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        if not node._prev:      # a leaf: nothing to pass on
            continue
        locals_ = local_grads(node._op, tuple(p.data for p in node._prev), node.data)
        for parent, local in zip(node._prev, locals_):
            parent.grad += local * node.grad


# ----------------------------------------------------------------------------
# an MLP by hand in numpy

class MLPCache(NamedTuple):
    """What mlp_forward keeps for mlp_backward (one entry per layer l = 1..L).

    A: the input of each layer, A[0] = X: (N, D), A[l] = tanh(Z[l-1]): (N, H_l).
    Z: each layer's pre-activation Z[l] = A[l] @ W[l] + b[l].
    W: each layer's weight matrix (needed to send the gradient to the layer below).
    """
    A: tuple
    Z: tuple
    W: tuple


def init_mlp(sizes, rng=0):
    """Parameters {"W1", "b1", ..., "WL", "bL"} for layer sizes e.g. (2, 16, 16, 1).

    W_l: (sizes[l-1], sizes[l]) drawn from N(0, 1/sizes[l-1]); b_l: zeros.
    """
    rng = np.random.default_rng(rng)
    params = {}
    for l, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_in, d_out))
        params[f"b{l}"] = np.zeros(d_out)
    return params


def mlp_forward(X, params):
    """Forward pass: tanh hidden layers, a linear output layer. X: (N, D) -> out: (N, C).

    Returns (out, cache) with cache an MLPCache holding what backward needs.
    """
    L = len(params) // 2
    A, Z, W = [X], [], []
    for l in range(1, L + 1):
        z = A[-1] @ params[f"W{l}"] + params[f"b{l}"]
        Z.append(z)
        W.append(params[f"W{l}"])
        if l < L:
            A.append(np.tanh(z))
    return Z[-1], MLPCache(tuple(A), tuple(Z), tuple(W))


def delta_entry(delta_next, W_next, Z, n, j):
    """Exercise 4.5: one entry of delta^l = dL/dZ^l, written by index (BP2 for a tanh layer).

    delta_next: delta^{l+1}, (N, K); W_next: W^{l+1}, (J, K); Z: Z^l, (N, J)
    with A^l = tanh(Z^l) and Z^{l+1} = A^l W^{l+1} + b^{l+1}. Returns a float.
    """
    total = sum(delta_next[n, k] * W_next[j, k] for k in range(W_next.shape[1]))
    return float(total * (1.0 - math.tanh(Z[n, j]) ** 2))


def mlp_backward(cache, dout):
    """Exercise 4.6: gradients of the loss w.r.t. every parameter, given dout = dL/dout: (N, C).

    Returns {"W1": dW1, "b1": db1, ...}, each the shape of its parameter:
    delta_L = dout (linear output); dW_l = A_{l-1}^T delta_l; db_l = sum over
    the batch of delta_l; delta_{l-1} = (delta_l W_l^T) * tanh'(Z_{l-1}).
    """
    grads = {}
    L = len(cache.W)
    delta = dout
    for l in range(L, 0, -1):
        grads[f"W{l}"] = cache.A[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ cache.W[l - 1].T) * (1.0 - np.tanh(cache.Z[l - 2]) ** 2)
    return grads


# ----------------------------------------------------------------------------
# cases, verifiers and typical mistakes

def _local_cases():
    return [
        ("*", (2.0, -3.0), -6.0),
        ("+", (0.5, 4.0), 4.5),
        ("tanh", (0.8,), math.tanh(0.8)),
        ("exp", (-0.5,), math.exp(-0.5)),
        ("*", (0.25, 0.25), 0.0625),
    ]


def _verify_local(reference, cases):
    """A verify function: the outputs against the reference on ``cases``, then an unknown op must raise ValueError."""

    def verify(fn):
        for op, inputs, out in cases():
            expected = reference(op, inputs, out)
            message = compare(expected, fn(op, inputs, out), rtol=1e-6, atol=1e-8)
            if message:
                return f"for op = {op!r}, inputs = {inputs!r}, out = {out:.4g}, {message}"
        try:
            got = fn("sigmoid", (0.5,), 1.0 / (1.0 + math.exp(-0.5)))
        except ValueError:
            return None
        except Exception as err:
            return (f"for op = 'sigmoid', an op it does not know, it raised {type(err).__name__}: "
                    f"raise ValueError instead")
        return (f"for op = 'sigmoid', an op it does not know, it returned {short_repr(got, limit=60)}: "
                f"raise ValueError instead, so that a missing op cannot pass silently")

    return verify


def _local_no_raise(op, inputs, out):
    """A listed mistake: an if/elif chain with no final raise (None for an unknown op)."""
    if op in ("+", "*", "tanh", "exp"):
        return local_grads(op, inputs, out)
    return None


def _more_no_raise(op, inputs, out):
    """A listed mistake: anything that is not log is treated as relu."""
    (x,) = inputs
    if op == "log":
        return (1.0 / x,)
    return (1.0 if x > 0 else 0.0,)


def _local_tanh_of_input(op, inputs, out):
    if op == "tanh":
        return (1.0 - inputs[0] ** 2,)
    return local_grads(op, inputs, out)


def _local_mul_not_swapped(op, inputs, out):
    if op == "*":
        return tuple(inputs)
    return local_grads(op, inputs, out)


def _local_exp_one(op, inputs, out):
    if op == "exp":
        return (1.0,)
    return local_grads(op, inputs, out)


def _local_add_values(op, inputs, out):
    if op == "+":
        return tuple(inputs)
    return local_grads(op, inputs, out)


def _local_tanh_unsquared(op, inputs, out):
    if op == "tanh":
        return (1.0 - out,)
    return local_grads(op, inputs, out)


def _local_exp_of_input(op, inputs, out):
    if op == "exp":
        return (inputs[0],)
    return local_grads(op, inputs, out)


def _more_cases():
    return [
        ("log", (2.0,), math.log(2.0)),
        ("log", (0.25,), math.log(0.25)),
        ("relu", (1.5,), 1.5),
        ("relu", (-0.3,), 0.0),
        ("relu", (0.0,), 0.0),
    ]


def _more_log_of_out(op, inputs, out):
    if op == "log":
        return (1.0 / out,)
    return local_grads_more(op, inputs, out)


def _more_log_exp(op, inputs, out):
    if op == "log":
        return (math.exp(inputs[0]),)
    return local_grads_more(op, inputs, out)


def _more_relu_at_zero_one(op, inputs, out):
    if op == "relu":
        return (1.0 if inputs[0] >= 0 else 0.0,)
    return local_grads_more(op, inputs, out)


def _more_relu_value(op, inputs, out):
    if op == "relu":
        return (out,)
    return local_grads_more(op, inputs, out)


def _more_relu_step_of_out(op, inputs, out):
    if op == "relu":
        return (1.0 if out >= 0 else 0.0,)
    return local_grads_more(op, inputs, out)


# graphs for 4.2 and 4.3: name -> (root, leaves)
def _neuron():
    x1, x2, w1, w2, b = Node(2.0), Node(0.0), Node(-3.0), Node(1.0), Node(6.8813735870195432)
    return (x1 * w1 + x2 * w2 + b).tanh(), [x1, x2, w1, w2, b]


def _diamond():
    a = Node(1.5)
    b = a * 2.0
    c = a.exp()
    return b * c + a, [a]


def _squared():
    a = Node(-0.7)
    return (a * a).tanh() + a * a * a, [a]


def _shared_middle():
    x, y = Node(0.3), Node(-1.2)
    h = (x * y + x).tanh()
    return h * h + h.exp() * y, [x, y]


def _chain(n=3000):
    x = Node(0.1)
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0
    return y, [x]


_GRAPHS = {"a neuron": _neuron, "a diamond (a feeds two nodes)": _diamond,
           "a*a*a (a used by one node twice)": _squared, "h used three times": _shared_middle,
           "a chain of 6000 nodes": _chain}


def _verify_order(fn):
    for name, build in _GRAPHS.items():
        root, _ = build()
        expected = topological_order(root)
        try:
            got = fn(root)
        except RecursionError:
            return (f"on {name} it hit Python's recursion limit: walk the graph with an explicit "
                    "stack (a list you push to and pop from) instead of recursion")
        got = list(got)
        ids = [id(n) for n in got]
        if len(ids) != len(set(ids)):
            return f"on {name} some node appears more than once (remember which nodes you have visited)"
        if set(ids) != {id(n) for n in expected}:
            return (f"on {name} it returned {len(set(ids))} distinct nodes, expected the "
                    f"{len(expected)} nodes reachable from the root")
        position = {i: k for k, i in enumerate(ids)}
        for node in got:
            for parent in node._prev:
                if position[id(parent)] > position[id(node)]:
                    return (f"on {name} a node ({node._op}) comes before one of its inputs: each node "
                            "must come after all of its inputs, so the root comes last")
    return None


def _verify_backward(fn):
    for name, build in _GRAPHS.items():
        root, leaves = build()
        ref_root, ref_leaves = build()
        backward(ref_root)
        try:
            fn(root)
        except RecursionError:
            return f"on {name} it hit Python's recursion limit: use topological_order"
        if root.grad != 1.0:
            return f"on {name} the root's grad is {root.grad:.4f}; d root / d root = 1.0 starts the chain"
        for k, (leaf, ref) in enumerate(zip(leaves, ref_leaves)):
            if not math.isclose(leaf.grad, ref.grad, rel_tol=1e-9, abs_tol=1e-12):
                return (f"on {name}, input {k}: expected grad {ref.grad:.6f} but got {leaf.grad:.6f} "
                        "(gradients from several uses add up: +=, and go from the root backwards)")
    return None


def _backward_assign(root):
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        if not node._prev:      # a leaf: nothing to pass on
            continue
        locals_ = local_grads(node._op, tuple(p.data for p in node._prev), node.data)
        for parent, local in zip(node._prev, locals_):
            parent.grad = local * node.grad


def _backward_forward_order(root):
    root.grad = 1.0
    for node in topological_order(root):
        if not node._prev:      # a leaf: nothing to pass on
            continue
        locals_ = local_grads(node._op, tuple(p.data for p in node._prev), node.data)
        for parent, local in zip(node._prev, locals_):
            parent.grad += local * node.grad


def _backward_no_seed(root):
    for node in reversed(topological_order(root)):
        if not node._prev:      # a leaf: nothing to pass on
            continue
        locals_ = local_grads(node._op, tuple(p.data for p in node._prev), node.data)
        for parent, local in zip(node._prev, locals_):
            parent.grad += local * node.grad


def _backward_local_only(root):
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        if not node._prev:
            continue
        locals_ = local_grads(node._op, tuple(p.data for p in node._prev), node.data)
        for parent, local in zip(node._prev, locals_):
            parent.grad += local


def _order_recursive(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node._prev:
                visit(p)
            order.append(node)
    visit(root)
    return order


def _order_no_visited(root):
    order, stack = [], [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order


def _order_root_first(root):
    return list(reversed(topological_order(root)))


def _order_bfs_reversed(root):
    """Breadth-first from the root, reversed: right on trees, wrong when paths of different lengths meet."""
    seen, queue, order = {id(root)}, [root], []
    while queue:
        node = queue.pop(0)
        order.append(node)
        for p in node._prev:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return order[::-1]


def _delta_cases():
    rng = np.random.default_rng(5)
    cases = []
    for N, J, K, n, j in [(3, 4, 2, 1, 3), (2, 3, 5, 0, 1), (4, 2, 3, 3, 0)]:
        cases.append((rng.normal(size=(N, K)), rng.normal(size=(J, K)), rng.normal(size=(N, J)), n, j))
    return cases


def _delta_no_tanh_prime(delta_next, W_next, Z, n, j):
    return float(sum(delta_next[n, k] * W_next[j, k] for k in range(W_next.shape[1])))


def _delta_prime_of_z(delta_next, W_next, Z, n, j):
    total = sum(delta_next[n, k] * W_next[j, k] for k in range(W_next.shape[1]))
    return float(total * (1.0 - Z[n, j] ** 2))


def _delta_w_swapped(delta_next, W_next, Z, n, j):
    total = sum(delta_next[n, k] * W_next[k, j] for k in range(W_next.shape[1]))
    return float(total * (1.0 - math.tanh(Z[n, j]) ** 2))


def _delta_batch_summed(delta_next, W_next, Z, n, j):
    total = sum(delta_next[m, k] * W_next[j, k] * (1.0 - math.tanh(Z[m, j]) ** 2)
                for m in range(Z.shape[0]) for k in range(W_next.shape[1]))
    return float(total)


def _mlp_cases():
    rng = np.random.default_rng(4)
    cases = []
    for sizes, N in [((2, 5, 1), 7), ((3, 4, 6, 2), 5), ((4, 3), 3)]:
        params = init_mlp(sizes, rng=rng)
        for key in params:
            if key.startswith("b"):
                params[key] = rng.normal(size=params[key].shape)
        X = rng.normal(size=(N, sizes[0]))
        _, cache = mlp_forward(X, params)
        cases.append((cache, rng.normal(size=(N, sizes[-1]))))
    return cases


def _describe_mlp(cache, dout):
    """'a 3-4-6-2 network and a batch of N = 5': the case in the learner's terms, not as raw arrays."""
    sizes = [cache.A[0].shape[1]] + [W.shape[1] for W in cache.W]
    return f"a {'-'.join(map(str, sizes))} network and a batch of N = {dout.shape[0]}"


def _verify_mlp_backward(fn):
    """Compare with the reference on each case; name the network by its layer sizes; catch in-place edits."""
    for cache, dout in _mlp_cases():
        expected = mlp_backward(cache, dout)
        given_cache = MLPCache(*(tuple(a.copy() for a in arrays) for arrays in cache))
        given_dout = dout.copy()
        got = fn(given_cache, given_dout)
        if not np.array_equal(given_dout, dout):
            return ("your function changed dout in place (delta = dout does not copy, so delta *= ... "
                    "changes dout too); write delta = delta * ... or delta = delta @ ..., which build new arrays")
        for field, before, after in zip(MLPCache._fields, cache, given_cache):
            if any(not np.array_equal(b, a) for b, a in zip(before, after)):
                return f"your function changed cache.{field} in place; the backward pass should only read the cache"
        message = compare(expected, got, rtol=1e-6, atol=1e-9)
        if message:
            return f"for {_describe_mlp(cache, dout)}: {message}"
    return None


def _mlp_no_activation_grad(cache, dout):
    grads, delta = {}, dout
    for l in range(len(cache.W), 0, -1):
        grads[f"W{l}"] = cache.A[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        delta = delta @ cache.W[l - 1].T
    return grads


def _mlp_mean_bias(cache, dout):
    grads = mlp_backward(cache, dout)
    return {k: (v / len(dout) if k.startswith("b") else v) for k, v in grads.items()}


def _mlp_prime_of_z(cache, dout):
    grads, delta = {}, dout
    for l in range(len(cache.W), 0, -1):
        grads[f"W{l}"] = cache.A[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ cache.W[l - 1].T) * (1.0 - cache.Z[l - 2] ** 2)
    return grads


def _mlp_prime_of_own_layer(cache, dout):
    grads, delta = {}, dout
    for l in range(len(cache.W), 0, -1):
        grads[f"W{l}"] = cache.A[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ cache.W[l - 1].T) * (1.0 - np.tanh(cache.Z[l - 1]) ** 2)
    return grads


def _mlp_transposed_dw(cache, dout):
    grads, delta = {}, dout
    for l in range(len(cache.W), 0, -1):
        grads[f"W{l}"] = delta.T @ cache.A[l - 1]
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ cache.W[l - 1].T) * (1.0 - np.tanh(cache.Z[l - 2]) ** 2)
    return grads


EXERCISES = [
    Exercise(
        id="4.1",
        title="local derivatives of +, *, tanh, exp",
        reference=local_grads,
        verify=_verify_local(local_grads, _local_cases),
        hints=(
            "take one input at a time: how much does the output move when only that input moves a "
            "little? For tanh and exp, try to write the answer with the output value you are given",
            "for a product, moving one factor scales the output by the other factor; chapter 2 derived "
            "tanh'(a) and exp'(a) and both can be written with c, the op's output, alone",
            "the tuple has one entry per input, in the order of inputs: two for + and *, one for tanh and exp",
        ),
        mistakes=[
            (_local_tanh_of_input, "expected"),
            (_local_mul_not_swapped, "expected"),
            (_local_exp_one, "expected"),
            (_local_add_values, "expected"),
            (_local_tanh_unsquared, "expected"),
            (_local_exp_of_input, "expected"),
            (_local_no_raise, "ValueError"),
        ],
    ),
    Exercise(
        id="4.2",
        title="topological order, iteratively",
        reference=topological_order,
        verify=_verify_order,
        hints=(
            "a node may be placed only when all of its inputs are placed; recursion would remember where it "
            "was in a call per node, so keep that memory yourself, in a list used as a stack",
            "let each node come off the stack twice: the first time, put it back with a mark saying "
            "'inputs pending' and push its inputs after it; the second time all its inputs are placed, so "
            "append it to the order",
            "keep a set of id(node) for the nodes already placed and skip them when they come off the stack "
            "again: a node used by several others is pushed several times",
        ),
        mistakes=[
            (_order_recursive, "recursion"),
            (_order_no_visited, "more than once"),
            (_order_root_first, "comes before one of its inputs"),
            (_order_bfs_reversed, "comes before one of its inputs"),
        ],
    ),
    Exercise(
        id="4.3",
        title="backward: the chain rule over the graph",
        reference=backward,
        verify=_verify_backward,
        hints=(
            "the gradient of the root with respect to itself starts the chain; a node may pass its gradient "
            "on only once it is complete, that is after every node that uses it has passed its share",
            "walk the topological order from the root end; at each node that has inputs, ask local_grads for "
            "the local derivatives and give each input the product of its local derivative and the node's "
            "own gradient",
            "the share is added to what the input already has (a node used twice gets two shares); the root's "
            "gradient is 1.0",
        ),
        mistakes=[
            (_backward_assign, "expected grad"),
            (_backward_forward_order, "expected grad"),
            (_backward_no_seed, "root's grad"),
            (_backward_local_only, "expected grad"),
        ],
    ),
    Exercise(
        id="4.4",
        title="local derivatives of log and relu",
        reference=local_grads_more,
        verify=_verify_local(local_grads_more, _more_cases),
        hints=(
            "log's derivative depends on its input, not on its output; relu is the identity on one side "
            "of 0 and a constant on the other",
            "d/dx log x = 1/x with x the input; relu passes a slope of 1 where its input is positive and 0 "
            "elsewhere, including at exactly 0",
        ),
        mistakes=[
            (_more_log_of_out, "expected"),
            (_more_log_exp, "expected"),
            (_more_relu_at_zero_one, "expected"),
            (_more_relu_value, "expected"),
            (_more_relu_step_of_out, "expected"),
            (_more_no_raise, "ValueError"),
        ],
    ),
    Exercise(
        id="4.5",
        title="one entry of BP2, derived by index",
        reference=delta_entry,
        cases=_delta_cases,
        hints=(
            "Z^l[n, j] reaches the loss only through A^l[n, j], and that reaches it through every "
            "Z^{l+1}[n, k] of the same example n: add up those paths",
            "write Z^{l+1}[n, k] = sum_j A^l[n, j] W^{l+1}[j, k] + b^{l+1}[k] and differentiate it with "
            "respect to A^l[n, j]; then multiply by d A^l[n, j] / d Z^l[n, j] for tanh",
            "the sum runs over k (the units of layer l + 1), not over the batch; tanh's derivative is "
            "taken at Z[n, j]: 1 - tanh(Z[n, j])**2",
        ),
        mistakes=[
            (_delta_no_tanh_prime, "expected"),
            (_delta_prime_of_z, "expected"),
            (_delta_w_swapped, "raised"),
            (_delta_batch_summed, "expected"),
        ],
    ),
    Exercise(
        id="4.6",
        title="an MLP's backward pass by hand",
        reference=mlp_backward,
        verify=_verify_mlp_backward,
        hints=(
            "go from the top layer down, carrying delta = dL/dZ of the layer you are at (it starts as dout); "
            "each layer's two gradients come from its delta and what the cache kept (BP3, BP4), and BP2 "
            "moves delta one layer down",
            "layer l (counting from 1) reads its input from cache.A[l - 1] and its weights from "
            "cache.W[l - 1]; the tanh' that BP2 needs belongs to the layer below, cache.Z[l - 2]; below "
            "layer 1 there is nothing left to do",
            "check shapes: dW_l is (n_{l-1}, n_l), a (n_{l-1}, N) by (N, n_l) product that sums over the "
            "batch; db_l sums delta over the batch axis (a sum, not a mean: dout already carries any 1/N)",
        ),
        mistakes=[
            (_mlp_no_activation_grad, "expected"),
            (_mlp_mean_bias, "'b"),
            (_mlp_transposed_dw, "transposed"),
            (_mlp_prime_of_z, "expected"),
            (_mlp_prime_of_own_layer, "expected"),
        ],
    ),
]
