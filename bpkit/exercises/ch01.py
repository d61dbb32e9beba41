"""Chapter 01 (Neurons and the forward pass): references and test cases.

Shapes follow the notebook: a batch X: (N, D), weights W: (D, H), biases b: (H,).
"""
import numpy as np

from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "sigmoid", "relu", "neuron", "dense", "mlp_forward", "boundary_x2", "predict"]


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def relu(z):
    """max(0, z), elementwise."""
    return np.maximum(0.0, z)


def neuron(x, w, b):
    """One neuron: sigmoid(w . x + b). x, w: (D,); b: a number. Returns a number."""
    return sigmoid(np.dot(w, x) + b)


def dense(X, W, b):
    """A dense (fully connected) layer for a batch: X @ W + b. X: (N, D), W: (D, H), b: (H,) -> (N, H)."""
    return X @ W + b


def mlp_forward(X, W1, b1, W2, b2):
    """Two-layer MLP: relu(X @ W1 + b1) @ W2 + b2. X: (N, D), W1: (D, H), W2: (H, C) -> (N, C)."""
    return relu(X @ W1 + b1) @ W2 + b2


def boundary_x2(x1, w, b):
    """The decision boundary w[0] x1 + w[1] x2 + b = 0, solved for x2 (w[1] != 0)."""
    return -(w[0] * x1 + b) / w[1]


def predict(X, w, b):
    """Class 1 where the neuron's output sigmoid(X @ w + b) exceeds 1/2, i.e. where X @ w + b > 0. -> (N,) ints."""
    return (X @ w + b > 0).astype(int)


def _neuron_cases():
    rng = np.random.default_rng(1)
    return [
        (np.array([0.5, -1.0, 2.0]), np.array([0.2, 0.4, -0.1]), 0.1),
        (rng.normal(size=4), rng.normal(size=4), -0.7),
        (np.array([1.0, 3.0]), np.array([-1.5, 0.5]), 2.0),
    ]


def _dense_cases():
    rng = np.random.default_rng(2)
    return [
        (rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), np.array([0.5, -1.0])),
        (rng.normal(size=(1, 2)), rng.normal(size=(2, 5)), rng.normal(size=5)),
        (rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)),  # square: a swap of X and W still runs
    ]


def _mlp_cases():
    rng = np.random.default_rng(3)
    cases = []
    for N, D, H, C in [(5, 2, 4, 3), (3, 3, 6, 2), (4, 2, 4, 4)]:
        cases.append((rng.normal(size=(N, D)), rng.normal(size=(D, H)), rng.normal(size=H),
                      rng.normal(size=(H, C)), rng.normal(size=C)))
    return cases


# Each case is built so that a typical shortcut changes at least one prediction:
# rows whose class flips when x2 is ignored, when the inputs are summed instead
# of weighted, when the bias is dropped or its sign flipped; a point exactly on
# the boundary (z = 0: output exactly 1/2, class 0); a 3-feature case for code
# that assumes two features; and different answers from case to case.
_PREDICT_CASES = [
    (np.array([[0.0, 0.0], [1.0, 0.2], [-1.0, 0.5], [0.5, 1.0], [2.0, -1.0], [0.25, 0.5]]),
     np.array([1.0, -1.0]), 0.25),
    (np.array([[1.0, 1.0], [0.0, 0.0], [2.0, 1.0], [-0.5, 2.0], [0.5, 0.5], [-1.0, 0.25]]),
     np.array([0.5, 1.0]), -1.0),
    (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 0.5, -2.0], [0.5, -0.5, 0.25]]),
     np.array([-2.0, 1.0, 0.5]), 0.25),
]


EXERCISES = [
    Exercise(
        id="1.1",
        title="one neuron's output",
        reference=neuron,
        cases=_neuron_cases,
        hints=(
            "two steps: first one number that combines every input with its own weight, and the bias; "
            "then pass that number through the activation",
            "the combining step is a dot product of w and x (np.dot or @) plus b; "
            "the activation is the sigmoid defined above, applied to the whole sum, bias included",
        ),
        mistakes=[
            (lambda x, w, b: sigmoid(np.dot(w, x)), "expected"),
            (lambda x, w, b: np.dot(w, x) + b, "expected"),
            (lambda x, w, b: sigmoid(w * x + b), "single number"),
            (lambda x, w, b: sigmoid(np.dot(w, x)) + b, "expected"),
            (lambda x, w, b: sigmoid(np.sum(x) + b), "expected"),
            (lambda x, w, b: sigmoid(np.dot(w, x) - b), "expected"),
            (lambda x, w, b: 1.0 / (1.0 + np.exp(np.dot(w, x) + b)), "expected"),
            (lambda x, w, b: np.tanh(np.dot(w, x) + b), "expected"),
            (lambda x, w, b: 0.401312339887548, "expected"),                       # hard-coded first answer
            (lambda x, w, b: sigmoid(w[0] * x[0] + w[1] * x[1] + b), "expected"),  # assumes D = 2
            (lambda x, w, b: np.mean(sigmoid(w * x + b)), "expected"),
        ],
    ),
    Exercise(
        id="1.2",
        title="a dense layer on a batch",
        reference=dense,
        cases=_dense_cases,
        hints=(
            "every row of X is one example, and every column of W one neuron's weights: "
            "one numpy operation can compute all N x H weighted sums at once, no loops",
            "the matrix product of X and W has shape (N, H); b, shape (H,), is then added to every row "
            "(broadcasting does that for you)",
        ),
        mistakes=[
            (lambda X, W, b: X @ W, "expected"),
            (lambda X, W, b: (X @ W + b).T, "transposed"),
            (lambda X, W, b: (X @ W + b).sum(axis=0), "shape"),
            (lambda X, W, b: X @ W + b[:, None], "raised"),
            (lambda X, W, b: W.T @ X + b, "raised"),
            (lambda X, W, b: X * W + b, "raised"),
            (lambda X, W, b: X @ W + b.sum(), "expected"),
            (lambda X, W, b: X[:1] @ W + b, "shape"),
            (lambda X, W, b: X @ W.T + b, "raised"),
        ],
    ),
    Exercise(
        id="1.3",
        title="a two-layer MLP forward pass",
        reference=mlp_forward,
        cases=_mlp_cases,
        hints=(
            "go layer by layer: compute the hidden activations first (shape (N, H)), "
            "then feed them, not X, to the output layer",
            "both layers are your dense(...); the ReLU goes between them, on the hidden layer only: "
            "the output scores may be negative",
        ),
        mistakes=[
            (lambda X, W1, b1, W2, b2: (X @ W1 + b1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: relu(relu(X @ W1 + b1) @ W2 + b2), "expected"),
            (lambda X, W1, b1, W2, b2: (relu(X @ W1 + b1) @ W2 + b2).T, "shape"),
            (lambda X, W1, b1, W2, b2: relu(X @ W1 + b1) @ W2, "expected"),
            (lambda X, W1, b1, W2, b2: relu(X @ W1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: (relu(X @ W1) + b1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: sigmoid(X @ W1 + b1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: relu((X @ W1) @ W2 + b2), "expected"),
            (lambda X, W1, b1, W2, b2: (relu(X) @ W1 + b1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: np.abs(X @ W1 + b1) @ W2 + b2, "expected"),
        ],
    ),
    Exercise(
        id="1.4",
        title="a neuron's decision boundary",
        reference=boundary_x2,
        cases=[(np.linspace(-2.0, 2.0, 5), np.array([1.5, -2.0]), 0.5),
               (np.array([0.0, 1.0]), np.array([-0.5, 0.25]), -1.0)],
        hints=(
            "the boundary is the set of points where the neuron's weighted sum plus bias is exactly 0: "
            "write that equation with x1 and x2, then solve it for x2",
            "leave only the w[1] x2 term on one side: the other two terms change sign when they cross over; "
            "then divide both sides by w[1]",
        ),
        mistakes=[
            (lambda x1, w, b: (w[0] * x1 + b) / w[1], "wrong sign"),
            (lambda x1, w, b: -(w[0] * x1) / w[1], "constant"),
            (lambda x1, w, b: -(w[0] * x1 + b - 0.5) / w[1], "constant"),
            (lambda x1, w, b: -(w[1] * x1 + b) / w[0], "expected"),
            (lambda x1, w, b: -w[0] * x1 + b / w[1], "expected"),
            (lambda x1, w, b: (-w[0] * x1 + b) / w[1], "expected"),
        ],
    ),
    Exercise(
        id="1.5",
        title="class predictions from one neuron",
        reference=predict,
        cases=_PREDICT_CASES,
        hints=(
            "you do not need the sigmoid's value itself: ask for which z it is above 1/2, "
            "and compare z instead; return integers, not booleans",
            "z is every row's weighted sum plus the bias, one matrix-vector product for the whole batch; "
            "a point with z exactly 0 has output exactly 1/2, so it is class 0; .astype(int) turns booleans into 0/1",
        ),
        mistakes=[
            (lambda X, w, b: X @ w + b > 0, "dtype"),
            (lambda X, w, b: (X @ w + b > 0.5).astype(int), "expected"),
            (lambda X, w, b: (sigmoid(X @ w + b) > 0).astype(int), "expected"),
            # the four shortcuts the single-case check let through:
            (lambda X, w, b: (X[:, 0] * w[0] + b > 0).astype(int), "expected"),   # ignores the second feature
            (lambda X, w, b: (X.sum(axis=1) + b > 0).astype(int), "expected"),    # sums instead of weighting
            (lambda X, w, b: (X @ w > 0).astype(int), "expected"),                # drops the bias
            (lambda X, w, b: np.array([1, 1, 0, 0, 1, 0]), "expected"),           # hard-coded first answer
            (lambda X, w, b: (X @ w + b >= 0).astype(int), "expected"),           # z = 0 counted as class 1
            (lambda X, w, b: (X @ w - b > 0).astype(int), "expected"),            # bias with the wrong sign
            (lambda X, w, b: (X[:, 0] * w[0] + X[:, 1] * w[1] + b > 0).astype(int), "expected"),  # assumes D = 2
            (lambda X, w, b: sigmoid(X @ w + b), "dtype"),                        # probabilities, not classes
            (lambda X, w, b: (X @ w + b < 0).astype(int), "expected"),            # classes swapped
            (lambda X, w, b: np.sign(X @ w + b).astype(int), "expected"),         # -1/0/1, not 0/1
            (lambda X, w, b: [int(v) for v in X @ w + b > 0], "wrong type"),      # a list, not an array
        ],
    ),
]
