"""Plotting helpers for the course (matplotlib loads only when this module is imported).

Every figure in the course uses ``PALETTE``, the Okabe-Ito colour-blind-safe
palette, and has a title and labelled axes.
"""
from collections import namedtuple

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["PALETTE", "use_course_style", "GraphDrawing", "graph_layout", "draw_graph",
           "plot_decision_boundary", "plot_loss_curve"]

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def use_course_style():
    """Set the course's defaults: the palette as colour cycle, a grid, readable sizes."""
    plt.rcParams.update({
        "axes.prop_cycle": plt.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 80,
        "font.size": 11,
    })


# ---------------------------------------------------------------------------
# Computational graphs
# ---------------------------------------------------------------------------
#
# The node protocol (duck-typed, so the learner's own engine works too):
#   node._prev   iterable of the nodes this one was computed from (empty for a leaf)
#   node._op     short string naming the operation ("" or None for a leaf)
#   node.data    a number (or a numpy array: then its shape is shown)
#   node.grad    a number, an array, or None (shown as "-")
#   node.label   optional: a name shown before the op, e.g. "o = tanh"
# bpkit.Value keeps this protocol; so does the Node class built in chapter 04.

GraphDrawing = namedtuple("GraphDrawing", ["fig", "ax", "nodes", "edges", "layers", "positions"])
GraphDrawing.__doc__ = """What ``draw_graph`` returns.

fig, ax: the matplotlib figure and axes.
nodes: the nodes in topological order (every node after all of its inputs).
edges: list of (i, j) index pairs into ``nodes``: nodes[i] is an input of nodes[j].
layers: list of lists of node indices, left to right; layer k holds the nodes whose
    longest path from a leaf has k steps (each leaf one layer left of its first user).
positions: array (len(nodes), 2) of box centres in data coordinates.
"""


def _topological(root):
    """Nodes reachable from ``root`` through ``_prev``, inputs first; iterative (no recursion limit).

    Returns (nodes, index) with index: id(node) -> position in nodes.
    """
    nodes, index = [], {}
    visited = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if id(node) not in index:
                index[id(node)] = len(nodes)
                nodes.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        # reversed, so the first input is finished first: a stable left-to-right reading order
        for parent in reversed(list(getattr(node, "_prev", ()) or ())):
            if id(parent) not in visited:
                stack.append((parent, False))
    return nodes, index


def graph_layout(root, sweeps=4):
    """The layered layout ``draw_graph`` uses, without drawing anything.

    Layer of a node = length of the longest path from any leaf to it, so every
    arrow points to the right; a leaf is then moved right, next to the first
    node that uses it (a weight of the last layer stands by the last layer). Inside a layer, nodes are ordered by the mean
    row of their neighbours (a few barycentre sweeps, alternating directions),
    which removes most edge crossings in the small graphs of the course.

    Returns (nodes, edges, layers, positions) as described in ``GraphDrawing``;
    positions put layer k at x = k and rows one unit apart, centred on y = 0.
    """
    nodes, index = _topological(root)
    edges = []
    seen_edges = set()
    inputs = [[] for _ in nodes]      # indices of each node's inputs
    outputs = [[] for _ in nodes]     # indices of the nodes that use it
    for j, node in enumerate(nodes):
        for parent in getattr(node, "_prev", ()) or ():
            i = index[id(parent)]
            if (i, j) not in seen_edges:   # a*a uses a twice: one arrow
                seen_edges.add((i, j))
                edges.append((i, j))
                inputs[j].append(i)
                outputs[i].append(j)
    level = [0] * len(nodes)
    for j in range(len(nodes)):           # topological order: inputs already have their level
        if inputs[j]:
            level[j] = 1 + max(level[i] for i in inputs[j])
    for i in range(len(nodes)):           # a leaf (weight, bias) sits just left of its first use
        if not inputs[i] and outputs[i]:
            level[i] = min(level[j] for j in outputs[i]) - 1
    n_layers = 1 + max(level) if nodes else 0
    layers = [[] for _ in range(n_layers)]
    for j in range(len(nodes)):
        layers[level[j]].append(j)

    row = np.zeros(len(nodes))

    def place(layer):
        for k, j in enumerate(layer):
            row[j] = k - (len(layer) - 1) / 2

    for layer in layers:
        place(layer)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        order = layers[1:] if forward else layers[-2::-1]
        for layer in order:
            def key(j):
                nbrs = inputs[j] if forward else outputs[j]
                return (np.mean([row[i] for i in nbrs]) if nbrs else row[j], row[j])
            layer.sort(key=key)
            place(layer)
    positions = np.stack([np.array(level, dtype=float), -row], axis=1) if nodes else np.zeros((0, 2))
    return nodes, edges, layers, positions


def _fmt(x):
    """A number (or one-element array) with 4 decimals, a bigger array as its shape, None as '-'."""
    if x is None:
        return "-"
    arr = np.asarray(x)
    if arr.size == 1 and arr.dtype.kind in "biuf":
        return f"{float(arr.reshape(-1)[0]):.4f}"   # a 0-d or (1,)-shaped array is one number
    return f"array{arr.shape}"


def _lighten(colour, amount=0.2):
    """An opaque pale version of colour (mixed with white), so arrows behind a box stay hidden."""
    from matplotlib.colors import to_rgb
    return tuple(amount * c + (1 - amount) for c in to_rgb(colour))


def _node_text(node, names):
    op = getattr(node, "_op", "") or ""
    label = names.get(id(node)) or getattr(node, "label", "") or ""
    head = f"{label} = {op}" if (label and op) else (label or op or "leaf")
    return f"{head}\ndata {_fmt(getattr(node, 'data', None))}\ngrad {_fmt(getattr(node, 'grad', None))}"


def draw_graph(root, ax=None, title=None, labels=None, show_grad=True, max_size=(24.0, 18.0), fontsize=9):
    """Draw the computational graph that ends in ``root``, inputs on the left, root on the right.

    Works for any node with ``_prev``, ``_op``, ``data``, ``grad`` (and an
    optional ``label``): ``bpkit.Value`` or an engine of your own. Each box reads
    "op / data / grad" (leaves say "leaf" or their label); call it after
    ``backward()`` to see the gradients. Uses matplotlib only (no graphviz).

    labels: optional dict {node: name} (e.g. ``{x1: "x1", o: "o"}``); a node's
    own ``label`` attribute is used when it has one and is not in the dict.
    ax: draw into these axes (the figure is then left at its size); by default a
    new figure is sized to the graph, up to ``max_size`` inches (fonts shrink
    past that, so a 200-node graph still draws, though it is no longer readable).
    Returns a ``GraphDrawing`` (fig, ax, nodes, edges, layers, positions).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    nodes, edges, layers, positions = graph_layout(root)
    n_layers = max(len(layers), 1)
    n_rows = max((len(layer) for layer in layers), default=1)
    names = {id(k): v for k, v in (labels or {}).items()}
    texts = [_node_text(node, names) for node in nodes]
    if not show_grad:
        texts = [t.rsplit("\n", 1)[0] for t in texts]
    widest = max((len(line) for t in texts for line in t.split("\n")), default=4)
    # monospace: a character is ~0.6 em wide; the box (0.8 of a column) fits the widest line
    col_in = max(1.6, (widest * 0.6 * fontsize / 72 + 0.2) / 0.8)
    row_in = 0.8                          # inches per layer / per row at full size
    need_w, need_h = n_layers * col_in + 0.4, n_rows * row_in + 0.6
    scale = min(1.0, max_size[0] / need_w, max_size[1] / need_h)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(need_w * scale, 3.0), max(need_h * scale, 1.8)))
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.07, top=0.92)
    else:
        fig = ax.figure
    fs = max(fontsize * scale, 1.0)
    box_w, box_h = 0.8, 0.75            # in data units (1 unit = one layer / one row)
    root_id = id(root)

    for k, node in enumerate(nodes):
        x, y = positions[k]
        is_leaf = not (getattr(node, "_prev", ()) or ())
        colour = PALETTE[2] if id(node) == root_id else (PALETTE[5] if is_leaf else PALETTE[1])
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0,rounding_size=0.08",
                                    facecolor=_lighten(colour), edgecolor=colour, linewidth=1.2,
                                    zorder=2))
        text = texts[k]
        ax.text(x, y, text, ha="center", va="center", fontsize=fs, family="monospace", zorder=3)

    for i, j in edges:
        (x0, y0), (x1, y1) = positions[i], positions[j]
        ax.add_patch(FancyArrowPatch((x0 + box_w / 2, y0), (x1 - box_w / 2, y1),
                                     arrowstyle="-|>", mutation_scale=10 * max(scale, 0.3),
                                     color=PALETTE[7], linewidth=0.9 * max(scale, 0.3), alpha=0.7,
                                     zorder=1))

    if len(nodes):
        ax.set_xlim(positions[:, 0].min() - 0.55, positions[:, 0].max() + 0.55)
        ax.set_ylim(positions[:, 1].min() - 0.6, positions[:, 1].max() + 0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("inputs (left)  →  output (right)", fontsize=max(9 * scale, 1.0))
    ax.set_title(title or f"Computational graph: {len(nodes)} nodes, {len(edges)} edges",
                 fontsize=max(11 * scale, 1.0))
    return GraphDrawing(fig, ax, nodes, edges, layers, positions)


# ---------------------------------------------------------------------------
# 2-D classification and training curves
# ---------------------------------------------------------------------------

def plot_decision_boundary(predict_fn, X, y, ax=None, resolution=150, margin=0.5, threshold=None,
                           title="Decision boundary", xlabel="$x_1$", ylabel="$x_2$"):
    """Shade the plane by the class ``predict_fn`` gives it, draw the boundary, scatter the data.

    predict_fn: maps points (M, 2) to one score per point, shape (M,) or (M, 1)
        (a logit, a probability, a tanh output or a 0/1 label), or to class
        scores (M, K), K > 1, of which the largest wins.
    X: (N, 2) inputs; y: (N,) integer labels.
    threshold: where a single score changes class; by default 0.5 if every
        score lies in [0, 1], else 0 (logits and tanh outputs).
    resolution: grid points per axis (the function is called once on all of them).
    Returns the axes.
    """
    from matplotlib.colors import ListedColormap

    X = np.asarray(X, dtype=float)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {X.shape}")
    if ax is None:
        _, ax = plt.subplots()
    x0 = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    x1 = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    g0, g1 = np.meshgrid(x0, x1)
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    scores = np.asarray(predict_fn(grid), dtype=float)
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = scores.argmax(axis=1)
    else:
        scores = scores.reshape(-1)
        if threshold is None:
            threshold = 0.5 if (scores.min() >= 0.0 and scores.max() <= 1.0) else 0.0
        classes = (scores > threshold).astype(int)
    if classes.size != grid.shape[0]:
        raise ValueError(f"plot_decision_boundary: predict_fn returned {classes.size} predictions "
                         f"for {grid.shape[0]} points")
    classes = classes.reshape(g0.shape)
    # Colour point k like region k. A single score splits the plane into sides
    # 0 and 1, so two labels such as -1/+1 are drawn as the low and the high side.
    point_class = y.astype(int)
    if not (scores.ndim == 2 and scores.shape[1] > 1) and len(np.unique(y)) == 2:
        point_class = np.searchsorted(np.unique(y), y)
    n = int(max(point_class.max(initial=0), classes.max())) + 1
    cmap = ListedColormap([PALETTE[k % len(PALETTE)] for k in range(n)])
    ax.contourf(g0, g1, classes, levels=np.arange(n + 1) - 0.5, cmap=cmap, alpha=0.18)
    if n > 1:
        ax.contour(g0, g1, classes, levels=np.arange(n - 1) + 0.5, colors=PALETTE[7], linewidths=1.0)
    markers = "os^vDP*X"
    for label in np.unique(y):
        k = int(point_class[y == label][0])
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=18, color=PALETTE[k % len(PALETTE)],
                   marker=markers[k % len(markers)], edgecolor="white", linewidth=0.4,
                   label=f"class {label:g}")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_loss_curve(losses, ax=None, label=None, title="Training loss", xlabel="step",
                    ylabel="loss", logy=False, color=None):
    """Plot a loss history (a sequence of floats) against the step number; returns the axes.

    Call it several times on one ``ax`` (with ``label``) to compare runs.
    """
    losses = np.asarray(losses, dtype=float).ravel()
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(np.arange(len(losses)), losses, label=label, color=color)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if label is not None:
        ax.legend()
    return ax
