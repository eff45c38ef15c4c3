"""Learning-rate schedules: ``TrainConfig.schedule(base_rate, iteration, epoch)`` (both
1-based) gives the rate of an iteration."""
from __future__ import annotations

import math


def piecewise(factor, period):
    """MATLAB's 'piecewise' schedule: after every ``period`` epochs the rate is
    multiplied by ``factor`` (so epoch e runs at base * factor^floor((e-1)/period))."""
    return lambda base, iteration, epoch: base * factor ** ((epoch - 1) // period)


def polynomial(total_iterations):
    """Wolfram's "Polynomial" schedule (MXNet's, power 1/2): base * sqrt(1 - i / (T + 1))
    at iteration i of T, held at its last value past T."""
    def poly(base, iteration, epoch):
        return base * math.sqrt(1 - min(iteration, total_iterations) / (total_iterations + 1))
    return poly
