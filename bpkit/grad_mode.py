"""Grad mode: whether operations record a graph, and ``no_grad`` to switch it off.

Both engines read ``_grad_enabled`` before they record an operation
(``bpkit.tensor`` and ``bpkit.scalar``), so one ``with no_grad():`` covers
Values and Tensors alike. As ``torch.no_grad``, it is a context manager and a
decorator (with or without parentheses); on a generator function it holds only
while the generator runs.
"""
import functools
import inspect

from bpkit.errors import BpkitTypeError

__all__ = ["no_grad", "is_grad_enabled"]

_grad_enabled = True


def is_grad_enabled():
    """True unless inside ``with no_grad():``."""
    return _grad_enabled


class no_grad:
    """Context manager or decorator under which operations build no graph.

    Results made inside have ``requires_grad=False`` and no parents: use it for
    evaluation and for parameter updates such as ``w -= lr * w.grad`` (which
    then updates ``w`` in place). It nests, and the previous state is restored
    even when the block raises. As in PyTorch it decorates with or without
    parentheses (``@no_grad()`` or ``@no_grad``), and on a generator function
    it holds only while the generator runs, not between the values it yields.
    """

    __slots__ = ("_saved",)

    def __new__(cls, func=None):
        if func is not None:  # @no_grad without parentheses: no_grad(func)
            if not callable(func):
                raise BpkitTypeError(f"no_grad: takes no arguments (got {type(func).__name__}); "
                                     "write `with no_grad():` or decorate a function with @no_grad")
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self._saved = []

    def __enter__(self):
        global _grad_enabled
        self._saved.append(_grad_enabled)
        _grad_enabled = False
        return self

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self._saved.pop()
        return False

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return _no_grad_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)

        return wrapper


def _no_grad_generator(func):
    """Wrap a generator function so each of its steps runs under no_grad, and the caller's code between them does not."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        try:
            with no_grad():
                value = gen.send(None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with no_grad():
                        gen.close()
                    raise
                except BaseException as exc:
                    with no_grad():
                        value = gen.throw(exc)
                else:
                    with no_grad():
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return wrapper
