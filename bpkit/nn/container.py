"""Sequential: modules applied one after another, named "0", "1", ... as in PyTorch."""
from bpkit.errors import BpkitTypeError
from bpkit.nn.module import Module, _members

__all__ = ["Sequential"]


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Indexable (``model[0]`` is the first layer, a slice gives a Sequential) and has ``len``.
    """

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if isinstance(m, type) and issubclass(m, Module):
                raise BpkitTypeError(f"Sequential: argument {i} is the class {m.__name__}, not a layer; "
                                     f"add parentheses: {m.__name__}()")
            if not isinstance(m, Module):
                raise BpkitTypeError(f"Sequential: argument {i} has type {type(m).__name__}, not a Module")
        self.layers = list(modules)

    def _named_members(self):
        # the layers are named "0", "1", ... as in PyTorch ("0.weight"), not "layers.0"
        others = [(k, v) for k, v in vars(self).items() if k != "layers"]
        return _members([*((str(i), m) for i, m in enumerate(self.layers)), *others])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
