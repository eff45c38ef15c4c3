"""Python's operators for the arrays traced on the core tape, in one place.

Both traced array types, the core's ``TracedArray`` (core/traced_array.py, numpy's semantics) and
MATLAB's ``dlarray`` (matlab/dlarray.py, formatted dimensions), map ``+ - * / ** @``, unary minus,
``abs`` and the ordering comparisons the same way onto four hooks of their own:

* ``_binary(other, name, reverse)``: the elementwise binary op ``name`` of core/autodiff.py
  (``"add"``, ``"sub"``, ``"mul"``, ``"div"``, ``"pow"``), ``reverse`` for the reflected operator;
* ``_unary_op(name)``: the elementwise unary op ``name`` (``"neg"``, ``"abs"``);
* ``_matmul_op(a, b)``: the matrix product of ``a`` and ``b`` (either may be a plain array);
* ``_compare(other, ufunc)``: an ordering comparison (what it returns is the type's choice).
"""
from __future__ import annotations

import numpy as np


class TapeOperators:
    __slots__ = ()

    def __add__(self, o):
        return self._binary(o, "add")

    def __radd__(self, o):
        return self._binary(o, "add", True)

    def __sub__(self, o):
        return self._binary(o, "sub")

    def __rsub__(self, o):
        return self._binary(o, "sub", True)

    def __mul__(self, o):
        return self._binary(o, "mul")

    def __rmul__(self, o):
        return self._binary(o, "mul", True)

    def __truediv__(self, o):
        return self._binary(o, "div")

    def __rtruediv__(self, o):
        return self._binary(o, "div", True)

    def __pow__(self, o):
        return self._binary(o, "pow")

    def __rpow__(self, o):
        return self._binary(o, "pow", True)

    def __neg__(self):
        return self._unary_op("neg")

    def __abs__(self):
        return self._unary_op("abs")

    def __matmul__(self, o):
        return self._matmul_op(self, o)

    def __rmatmul__(self, o):
        return self._matmul_op(o, self)

    def __lt__(self, o):
        return self._compare(o, np.less)

    def __le__(self, o):
        return self._compare(o, np.less_equal)

    def __gt__(self, o):
        return self._compare(o, np.greater)

    def __ge__(self, o):
        return self._compare(o, np.greater_equal)
