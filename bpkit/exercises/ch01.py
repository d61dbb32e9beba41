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
    ]


def _dense_cases():
    rng = np.random.default_rng(2)
    return [
        (rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), np.array([0.5, -1.0])),
        (rng.normal(size=(1, 2)), rng.normal(size=(2, 5)), rng.normal(size=5)),
    ]


def _mlp_cases():
    rng = np.random.default_rng(3)
    N, D, H, C = 5, 2, 4, 3
    return [(rng.normal(size=(N, D)), rng.normal(size=(D, H)), rng.normal(size=H),
             rng.normal(size=(H, C)), rng.normal(size=C))]


EXERCISES = [
    Exercise(
        id="1.1",
        title="one neuron's output",
        reference=neuron,
        cases=_neuron_cases,
        hint="z = w . x + b (np.dot or @), then squash it with sigmoid(z)",
        mistakes=[
            (lambda x, w, b: sigmoid(np.dot(w, x)), "expected"),
            (lambda x, w, b: np.dot(w, x) + b, "expected"),
            (lambda x, w, b: sigmoid(w * x + b), "single number"),
        ],
    ),
    Exercise(
        id="1.2",
        title="a dense layer on a batch",
        reference=dense,
        cases=_dense_cases,
        hint="one matrix product X @ W gives every example's weighted sums at once; b broadcasts over the rows",
        mistakes=[
            (lambda X, W, b: X @ W, "expected"),
            (lambda X, W, b: (X @ W + b).T, "transposed"),
            (lambda X, W, b: (X @ W + b).sum(axis=0), "shape"),
        ],
    ),
    Exercise(
        id="1.3",
        title="a two-layer MLP forward pass",
        reference=mlp_forward,
        cases=_mlp_cases,
        hint="hidden = relu(X @ W1 + b1) has shape (N, H); the output layer is hidden @ W2 + b2, with no ReLU",
        mistakes=[
            (lambda X, W1, b1, W2, b2: (X @ W1 + b1) @ W2 + b2, "expected"),
            (lambda X, W1, b1, W2, b2: relu(relu(X @ W1 + b1) @ W2 + b2), "expected"),
            (lambda X, W1, b1, W2, b2: (relu(X @ W1 + b1) @ W2 + b2).T, "shape"),
        ],
    ),
    Exercise(
        id="1.4",
        title="a neuron's decision boundary",
        reference=boundary_x2,
        cases=[(np.linspace(-2.0, 2.0, 5), np.array([1.5, -2.0]), 0.5),
               (np.array([0.0, 1.0]), np.array([-0.5, 0.25]), -1.0)],
        hint="set w[0] x1 + w[1] x2 + b = 0 and solve for x2",
        mistakes=[
            (lambda x1, w, b: (w[0] * x1 + b) / w[1], "wrong sign"),
            (lambda x1, w, b: -(w[0] * x1) / w[1], "constant"),
            (lambda x1, w, b: -(w[0] * x1 + b - 0.5) / w[1], "constant"),
            (lambda x1, w, b: -(w[1] * x1 + b) / w[0], "expected"),
        ],
    ),
    Exercise(
        id="1.5",
        title="class predictions from one neuron",
        reference=predict,
        cases=[(np.array([[0.0, 0.0], [1.0, 0.2], [-1.0, 0.5], [0.1, 0.1], [2.0, -1.0]]), np.array([1.0, -1.0]), 0.1)],
        hint="the sigmoid is above 1/2 exactly where z = X @ w + b > 0; turn the booleans into 0/1 with .astype(int)",
        mistakes=[
            (lambda X, w, b: X @ w + b > 0, "dtype"),
            (lambda X, w, b: (X @ w + b > 0.5).astype(int), "expected"),
            (lambda X, w, b: (sigmoid(X @ w + b) > 0).astype(int), "expected"),
        ],
    ),
]
