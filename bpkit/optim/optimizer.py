"""Optimizer: the base class every bpkit optimizer shares (``torch.optim.Optimizer``'s interface).

What it holds, named as in PyTorch:

- ``param_groups``: a list of dicts, each with ``"params"`` (a list of Tensors)
  and every hyperparameter by PyTorch's key (``"lr"``, ``"momentum"``, ...);
  keys a group leaves out take the constructor's values (``defaults``).
  ``step()`` reads each group's values afresh, so a learning-rate scheduler
  may write ``group["lr"]`` (or ``"momentum"``, ``"betas"``) between steps.
  Every hyperparameter is checked when it is set, in the constructor or later
  (``group["lr"] = -1`` fails at once with a one-line error).
- ``state``: a dict keyed by the parameter Tensor, each entry a dict of arrays
  and counters (``"momentum_buffer"``, ``"step"``, ``"exp_avg"``, ...).
- ``state_dict()`` / ``load_state_dict(sd)``: PyTorch's layout, parameters
  replaced by their index in the order of the groups.
"""
import copy
import math
import numbers
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from bpkit.errors import BpkitTypeError, BpkitValueError
from bpkit.tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, state_dict; subclasses define ``step()``.

    params: an iterable of Tensors created with ``requires_grad=True`` (a list,
    ``model.parameters()``, a generator), or a list of dicts, each a parameter
    group: ``[{"params": decay}, {"params": no_decay, "weight_decay": 0}]``.
    A tensor listed twice in one group is kept once (it is not updated twice);
    in two groups it is an error. Parameters whose ``.grad`` is None are skipped.
    defaults: the hyperparameters by PyTorch's names (checked here).
    """

    def __init__(self, params, defaults):
        self.defaults = {k: self._check(k, v) for k, v in defaults.items()}
        self._check_together(self.defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise BpkitTypeError(f"{self._name}: params should be an iterable of Tensors or dicts, got a "
                                 f"single Tensor (wrap it in a list: [x])")
        if isinstance(params, dict):
            raise BpkitTypeError(f"{self._name}: params should be an iterable of Tensors or dicts, got a "
                                 f"single dict (wrap it in a list: [{{'params': ...}}])")
        if not isinstance(params, Iterable):
            raise BpkitTypeError(f"{self._name}: params should be an iterable of Tensors or dicts, "
                                 f"got {type(params).__name__}")
        params = list(params)                      # a generator can only be read once
        if not params:
            raise BpkitValueError(f"{self._name}: optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        elif not all(isinstance(g, dict) for g in params):
            raise BpkitTypeError(f"{self._name}: params mixes parameter groups (dicts) with other items; "
                                 f"give either Tensors or dicts")
        for group in params:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    def add_param_group(self, param_group):
        """Add a group: a dict with "params" and any hyperparameters (the rest from ``defaults``)."""
        name, where = self._name, f"parameter group {len(self.param_groups)}"
        if not isinstance(param_group, dict):
            raise BpkitTypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise BpkitValueError(f"{name}: {where} has no 'params' key")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise BpkitTypeError(f"{name}: optimizer parameters need to be organized in ordered collections, "
                                 f"but {where} is a set (use a list)")
        elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, dict)):
            params = list(params)
        else:
            raise BpkitTypeError(f"{name}: 'params' of {where} should be an iterable of Tensors, "
                                 f"got {type(params).__name__}")
        if not params:
            raise BpkitValueError(f"{name}: optimizer got an empty parameter list ({where})")
        kept, seen = [], set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise BpkitTypeError(f"{name}: optimizer can only optimize Tensors, "
                                     f"but parameter {i} of {where} has type {type(p).__name__}")
            if not p.requires_grad:
                raise BpkitValueError(f"{name}: parameter {i} of {where} (shape {tuple(p.shape)}) does not "
                                      f"require grad; create it with requires_grad=True")
            if not p.is_leaf:
                raise BpkitValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of {where} was "
                                      f"made by an operation); pass the tensors you created with "
                                      f"requires_grad=True")
            if id(p) not in seen:
                seen.add(id(p))
                kept.append(p)
        others = {id(p) for g in self.param_groups for p in g["params"]}
        if others & seen:
            raise BpkitValueError(f"{name}: some parameters appear in more than one parameter group "
                                  f"({where} repeats a tensor of an earlier group)")
        values = dict(self.defaults)
        values.update((k, v) for k, v in param_group.items() if k != "params")
        group = _ParamGroup(type(self))
        for k, v in values.items():
            group[k] = v                           # checked one by one
        self._check_together(group)
        dict.__setitem__(group, "params", kept)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Set ``.grad`` to None on every parameter (the next backward starts from nothing)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = np.zeros_like(np.asarray(p.grad))

    def step(self):
        """Update every parameter that has a gradient, in place (dtype kept).

        The write is ``p.sub_(update)`` under ``no_grad()``, as in torch.optim:
        it counts up ``p._version``, so a graph that saved ``p`` before the step
        refuses to backward instead of giving gradients for weights that are gone.
        """
        raise NotImplementedError

    def _with_grads(self, group):
        """(param, its data, its gradient as an array, its state) for each parameter with a gradient."""
        for p in group["params"]:
            if p.grad is not None:
                yield p, p.data, np.asarray(p.grad), self.state[p]

    # --- the hyperparameters: checked when set, and opt.lr & co. for one group

    # the rule of each hyperparameter (a subclass checks only the ones in its defaults)
    _RULES = {"lr": ("learning rate", ">= 0"), "momentum": ("momentum value", ">= 0"),
              "dampening": ("dampening value", "real"), "weight_decay": ("weight_decay value", ">= 0"),
              "eps": ("epsilon value", ">= 0"), "alpha": ("alpha value", ">= 0"),
              "lr_decay": ("lr_decay value", ">= 0"),
              "initial_accumulator_value": ("initial_accumulator_value value", ">= 0"),
              "betas": ("betas", "pair"), "nesterov": ("nesterov", "flag"), "amsgrad": ("amsgrad", "flag"),
              "centered": ("centered", "flag")}

    @classmethod
    def _check(cls, key, value):
        """value as it is kept (a float, a pair of floats, a bool) if allowed; else a one-line error."""
        if key not in cls._RULES:
            return value
        what, rule = cls._RULES[key]
        opt = cls.__name__
        if rule == "flag":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise BpkitTypeError(f"{opt}: invalid {key}: {_shown(value)} ({key} must be True or False)")
        if rule == "pair":
            return _betas(opt, value)
        return _number(opt, what, key, value, nonneg=(rule == ">= 0"))

    @classmethod
    def _check_together(cls, group):
        """Rules between hyperparameters (SGD's Nesterov); subclasses override."""

    def __getattr__(self, key):
        """``opt.lr`` (or any hyperparameter): the value of the only parameter group."""
        if key.startswith("_") or key not in type(self)._RULES or "param_groups" not in self.__dict__:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{key}'")
        return self._only_group(key)[key]

    def __setattr__(self, key, value):
        """``opt.lr = 0.01``: set (checked) in the only parameter group, for the next step."""
        if key in type(self)._RULES and "param_groups" in self.__dict__:
            self._only_group(key)[key] = value
        else:
            object.__setattr__(self, key, value)

    def _only_group(self, key):
        if key not in self.defaults:
            raise AttributeError(f"'{self._name}' object has no attribute '{key}'")
        if len(self.param_groups) != 1:
            raise BpkitValueError(f"{self._name}: opt.{key} is ambiguous with {len(self.param_groups)} "
                                  f"parameter groups; use opt.param_groups[i]['{key}']")
        return self.param_groups[0]

    @property
    def params(self):
        """Every parameter, group after group (the order state_dict() numbers them in)."""
        return [p for g in self.param_groups for p in g["params"]]

    # --- state_dict

    def state_dict(self):
        """{"state": {index: {name: copy}}, "param_groups": [{..., "params": [indices]}]} (PyTorch's layout).

        Parameters are numbered in the order of the groups; arrays are copies,
        so later steps do not change a saved dict.
        """
        index = {}
        groups = []
        for g in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            saved["params"] = []
            for p in g["params"]:
                index[id(p)] = len(index)
                saved["params"].append(index[id(p)])
            groups.append(saved)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()
                 if id(p) in index and s}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take the state and hyperparameters of ``state_dict`` (a deep copy); the parameters stay.

        The dict must come from the same kind of optimizer over parameters of the
        same shapes in the same groups; anything else is a one-line error and
        nothing is changed.
        """
        name = self._name
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise BpkitValueError(f"{name}: load_state_dict expects a dict with keys 'state' and "
                                  f"'param_groups' (from opt.state_dict()), got {got}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, list) or not all(isinstance(g, dict) and "params" in g
                                                         for g in saved_groups):
            raise BpkitValueError(f"{name}: load_state_dict: 'param_groups' must be a list of dicts with 'params'")
        if len(saved_groups) != len(self.param_groups):
            raise BpkitValueError(f"{name}: loaded state dict has a different number of parameter groups "
                                  f"({len(saved_groups)} != {len(self.param_groups)})")
        by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise BpkitValueError(f"{name}: loaded state dict contains a parameter group that doesn't match "
                                      f"the size of optimizer's group (group {i}: {len(saved['params'])} "
                                      f"parameters != {len(group['params'])})")
            by_index.update(zip(saved["params"], group["params"]))
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new = _ParamGroup(type(self))
            for k, v in saved.items():
                if k != "params":
                    new[k] = copy.deepcopy(v)      # checked
            missing = [k for k in self.defaults if k not in new]
            if missing:
                raise BpkitValueError(f"{name}: loaded state dict has a parameter group without "
                                      f"{', '.join(repr(k) for k in missing)} (is it from another optimizer?)")
            self._check_together(new)
            dict.__setitem__(new, "params", group["params"])
            new_groups.append(new)
        if not isinstance(saved_state, dict):
            raise BpkitValueError(f"{name}: load_state_dict: 'state' must be a dict, got "
                                  f"{type(saved_state).__name__}")
        new_state = defaultdict(dict)
        for k, entry in saved_state.items():
            if k not in by_index:
                raise BpkitValueError(f"{name}: loaded state dict has state for parameter {k!r}, but the "
                                      f"optimizer's parameters are numbered 0 to {len(by_index) - 1}")
            p = by_index[k]
            if not isinstance(entry, dict):
                raise BpkitValueError(f"{name}: loaded state of parameter {k} must be a dict, got "
                                      f"{type(entry).__name__}")
            new_state[p] = {key: _state_value(name, k, key, v, p) for key, v in entry.items()}
        self.param_groups[:] = new_groups
        self.state = new_state

    def __repr__(self):
        lines = [f"{self._name} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {g[k]}" for k in sorted(g) if k != "params"]
        return "\n".join(lines + [")"])


class _ParamGroup(dict):
    """A parameter group: a dict whose hyperparameters are checked whenever they are set."""

    __slots__ = ("_opt",)

    def __init__(self, opt_cls):
        super().__init__()
        self._opt = opt_cls

    def __setitem__(self, key, value):
        value = self._opt._check(key, value)
        if key == "params" or key not in self:
            dict.__setitem__(self, key, value)
            return
        old = self[key]
        dict.__setitem__(self, key, value)
        try:
            self._opt._check_together(self)
        except Exception:
            dict.__setitem__(self, key, old)
            raise

    def update(self, *args, **kwargs):
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __reduce__(self):                          # copies and pickles stay checked groups
        return (_rebuild_group, (self._opt, dict(self)))


def _rebuild_group(opt_cls, items):
    """A _ParamGroup holding items (already checked when first set)."""
    group = _ParamGroup(opt_cls)
    dict.update(group, items)
    return group


def _state_value(opt, index, key, value, p):
    """A copy of one saved state entry for parameter p: arrays in p's shape, cast to p's dtype."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if value.shape != p.data.shape:
            raise BpkitValueError(f"{opt}: loaded state {key!r} of parameter {index} has shape "
                                  f"{value.shape}, but the parameter has shape {p.data.shape}")
        return np.array(value, dtype=p.data.dtype if np.issubdtype(value.dtype, np.floating) else value.dtype)
    return copy.deepcopy(value)


def _betas(opt, value):
    """(beta1, beta2) as floats, each in [0, 1); else a one-line error."""
    rule = "betas must be a pair (beta1, beta2)"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise BpkitTypeError(f"{opt}: invalid betas: {_shown(value)} ({rule}, got {type(value).__name__})")
    pair = tuple(value)
    if len(pair) != 2:
        raise BpkitValueError(f"{opt}: invalid betas: {_shown(value)} ({rule}, got {len(pair)} "
                              f"value{'s' if len(pair) != 1 else ''})")
    return tuple(_number(opt, f"beta parameter at index {i}", f"betas[{i}]", b, upper=1)
                 for i, b in enumerate(pair))


def _number(opt, what, arg, value, upper=None, nonneg=True):
    """float(value) if it is a real number in [0, upper) (or >= 0; or any without nonneg); else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BpkitTypeError(f"{opt}: invalid {what}: {_shown(value)} "
                             f"({arg} must be a number, got {type(value).__name__})")
    rule = (f"{arg} must be in [0, {upper})" if upper is not None
            else f"{arg} must be >= 0" if nonneg else f"{arg} must be a number")
    try:
        x = float(value)
    except OverflowError:                      # an int beyond float's range
        x = math.inf if value > 0 else -math.inf
    if math.isnan(x):
        raise BpkitValueError(f"{opt}: invalid {what}: nan ({rule}, not NaN)")
    if nonneg and not (x >= 0 and (upper is None or x < upper)):
        text = str(value)
        raise BpkitValueError(f"{opt}: invalid {what}: {text if len(text) <= 40 else x} ({rule})")
    return x


def _shown(value):
    """A bad value as it would be typed (None, '0.1', (0.9,)), or its type if that is long."""
    text = repr(value)
    return text if len(text) <= 40 and "\n" not in text else f"a {type(value).__name__}"
