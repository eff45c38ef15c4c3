"""Solver steps, in MATLAB's update equations (Wolfram's ADAM and SGD are the same
equations with other defaults; see docs/porting_from_mathematica.md).

Each solver updates one parameter array in place, given its gradient (L2 and
thresholding already applied) and its effective learning rate (global rate times
the parameter's learn-rate factor). ``state`` is the solver's per-parameter dict of
arrays, so that checkpoints can save and restore it.

  SGDM:    v <- mu v - lr g;  w <- w + v                                   (v0 = 0)
  Adam:    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
           w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)    (epsilon not bias-corrected)
  RMSProp: v <- rho v + (1 - rho) g^2;  w <- w - lr g / (sqrt(v) + eps)
  RMSPropCentered (MXNet's rmspropalex_update, Graves 2013 eqs. 38-45; Wolfram's
           Method -> "RMSProp"):
           n <- (1 - g1) g^2 + g1 n;  gbar <- (1 - g1) g + g1 gbar;
           delta <- g2 delta - lr g / sqrt(n - gbar^2 + eps);  w <- w + delta
           (n = gbar = delta = 0 at the start; epsilon under the square root)
  Signum (MXNet's signum_update; signsgd_update when the momentum is 0; Wolfram's
           Method -> "SignSGD"):
           m <- mu m + (1 - mu) g;  w <- w - lr sign(m)                        (m0 = 0)
  WeightClipped(solver, c): the solver's step, then every weight clipped to [-c, c]
           (Wolfram's "WeightClipping" suboption).
The iteration counter t is shared by all parameters (the trainer passes it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# below this many elements numpy's three operations cost no more than the kernel's call (a few
# microseconds), and a net of small arrays compiles nothing new
_FUSED_FROM = 4096


def slots(state: dict, w, *names):
    """The solver's state arrays ``names`` for the parameter ``w``, zeros at the first step."""
    for name in names:
        if name not in state:
            state[name] = np.zeros_like(w)
    return [state[name] for name in names]


_update = None   # the module kernels/cpu/update, imported on first use (an import per call: ~2 us)


# One function per solver: the trainer's solver objects (below) and MATLAB's sgdmupdate,
# adamupdate and rmspropupdate (matlab/autodiff.py) both call these, in place on w and the state.
def sgdm_step(w, g, v, lr, momentum):
    """v <- mu v - lr g;  w <- w + v. On the CPU's arrays one pass of a compiled kernel
    (kernels/cpu/update.py, numpy's numbers bit for bit), else numpy's in-place operations."""
    if type(w) is np.ndarray and w.size >= _FUSED_FROM:
        global _update
        if _update is None:
            from ..kernels.cpu import update as _update
        if _update.sgdm_update(w, g, v, lr, momentum):
            return
    v *= momentum
    v -= lr * g
    w += v


def adam_step(w, g, m, v, lr, gradient_decay, squared_gradient_decay, epsilon, t):
    """m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)."""
    b1, b2 = gradient_decay, squared_gradient_decay
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * (g * g)
    rate = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    w -= (rate * m / (np.sqrt(v) + epsilon)).astype(w.dtype, copy=False)


def rmsprop_step(w, g, v, lr, squared_gradient_decay, epsilon):
    """v <- rho v + (1 - rho) g^2;  w <- w - lr g / (sqrt(v) + eps)."""
    rho = squared_gradient_decay
    v *= rho
    v += (1 - rho) * (g * g)
    w -= (lr * g / (np.sqrt(v) + epsilon)).astype(w.dtype, copy=False)


@dataclass(frozen=True)
class SGDM:
    momentum: float = 0.9
    name = "sgdm"

    def step(self, w, g, lr, state, t):
        sgdm_step(w, g, *slots(state, w, "Velocity"), lr, self.momentum)


@dataclass(frozen=True)
class Adam:
    gradient_decay: float = 0.9
    squared_gradient_decay: float = 0.999
    epsilon: float = 1e-8
    name = "adam"

    def step(self, w, g, lr, state, t):
        adam_step(w, g, *slots(state, w, "AverageGrad", "AverageSqGrad"), lr, self.gradient_decay,
                  self.squared_gradient_decay, self.epsilon, t)


@dataclass(frozen=True)
class RMSProp:
    squared_gradient_decay: float = 0.9
    epsilon: float = 1e-8
    name = "rmsprop"

    def step(self, w, g, lr, state, t):
        rmsprop_step(w, g, *slots(state, w, "AverageSqGrad"), lr, self.squared_gradient_decay, self.epsilon)


@dataclass(frozen=True)
class RMSPropCentered:
    """MXNet's rmspropalex_update: centred RMSProp with momentum. ``beta`` is MXNet's gamma1
    (Wolfram's "Beta"), ``momentum`` gamma2 (Wolfram's "Momentum"). State slots:
    "SquaredAverage" (n), "GradientAverage" (gbar), "Delta"."""
    beta: float = 0.95
    momentum: float = 0.9
    epsilon: float = 1e-8
    name = "rmspropalex"

    def step(self, w, g, lr, state, t):
        n, gbar, delta = slots(state, w, "SquaredAverage", "GradientAverage", "Delta")
        g1 = self.beta
        n *= g1
        n += (1 - g1) * (g * g)
        gbar *= g1
        gbar += (1 - g1) * g
        delta *= self.momentum
        delta -= (lr * g / np.sqrt(n - gbar * gbar + self.epsilon)).astype(w.dtype, copy=False)
        w += delta


@dataclass(frozen=True)
class Signum:
    """Sign of the momentum (MXNet's signum_update; signsgd_update, w <- w - lr sign(g),
    when ``momentum`` is 0). State slot: "Momentum". sign(0) = 0."""
    momentum: float = 0.9
    name = "signum"

    def step(self, w, g, lr, state, t):
        if self.momentum == 0:
            w -= (lr * np.sign(g)).astype(w.dtype, copy=False)
            return
        m, = slots(state, w, "Momentum")
        m *= self.momentum
        m += (1 - self.momentum) * g
        w -= (lr * np.sign(m)).astype(w.dtype, copy=False)


@dataclass(frozen=True)
class WeightClipped:
    """``solver``'s step followed by clipping every weight it updates to [-limit, limit]."""
    solver: object
    limit: float

    @property
    def name(self):
        return self.solver.name

    def step(self, w, g, lr, state, t):
        self.solver.step(w, g, lr, state, t)
        np.clip(w, -self.limit, self.limit, out=w)


def threshold(grads: list[np.ndarray], method: str, limit: float) -> None:
    """MATLAB's gradient thresholding, in place: 'l2norm' rescales each array whose
    L2 norm exceeds the limit to that norm; 'global-l2norm' rescales all of them by
    limit / global norm when the global norm exceeds it; 'absolute-value' clips each
    element to [-limit, limit]. An infinite limit turns thresholding off."""
    if not np.isfinite(limit):
        return
    if method == "absolute-value":
        for g in grads:
            np.clip(g, -limit, limit, out=g)
    elif method == "l2norm":
        for g in grads:
            norm = float(np.sqrt(np.sum(g.astype(np.float64) ** 2)))
            if norm > limit:
                g *= limit / norm
    elif method == "global-l2norm":
        norm = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))
        if norm > limit:
            for g in grads:
                g *= limit / norm
    else:
        raise ValueError(f"unknown gradient threshold method {method!r}")
