"""Checkpoint files: the network trained so far plus everything the trainer needs
to continue exactly (weights in the internal layout, solver state, counters, the
epoch's order, the random generator's state).

One zip file with three members: ``network`` (the network as ``layergraph.save``
writes it), ``trainer.json`` (counters, history, generator state, array index) and
``trainer.npz`` (arrays, read with allow_pickle=False). It is written to a
temporary file in the same folder and renamed, so an interrupted write never
leaves a half-written checkpoint under the final name. Loading runs no code.
"""
from __future__ import annotations

import io as _io
import json
import os
import tempfile
import zipfile

import numpy as np

from ..core.errors import LayerGraphError
from .trainer import TrainState

FORMAT = "layergraph-checkpoint"
VERSION = 1


def _flatten(state: TrainState):
    arrays, index = {}, []

    def put(kind, key, value):
        name = f"a{len(index)}"
        arrays[name] = np.asarray(value)
        index.append([kind, *key, name])

    for layer, per in state.params.items():
        for k, v in per.items():
            put("param", (layer, k), v)
    for (layer, k), slots in state.solver_state.items():
        for slot, v in slots.items():
            put("solver", (layer, k, slot), v)
    if state.best_params is not None:
        for layer, per in state.best_params.items():
            for k, v in per.items():
                put("best", (layer, k), v)
    if state.order is not None:
        put("order", (), state.order)
    meta = {"format": FORMAT, "version": VERSION, "iteration": state.iteration, "epoch": state.epoch,
            "position": state.position, "rng_state": state.rng_state, "history": state.history,
            "best_loss": state.best_loss, "best_iteration": state.best_iteration,
            "bad_validations": state.bad_validations, "elapsed": state.elapsed, "index": index}
    return meta, arrays


def write_checkpoint(path, net, state: TrainState) -> None:
    from ..io import save
    meta, arrays = _flatten(state)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=folder)
    os.close(fd)
    net_tmp = tmp + ".net"
    try:
        save(net, net_tmp)
        buf = _io.BytesIO()
        np.savez(buf, **arrays)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            z.write(net_tmp, "network")
            z.writestr("trainer.json", json.dumps(meta))
            z.writestr("trainer.npz", buf.getvalue())
        os.replace(tmp, path)
    finally:
        for p in (tmp, net_tmp):
            if os.path.exists(p):
                os.remove(p)


def is_checkpoint(path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return {"network", "trainer.json", "trainer.npz"} <= set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def read_checkpoint(path):
    """(network, TrainState) from a checkpoint file."""
    from ..io import load
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LayerGraphError(f"Unable to read the checkpoint '{path}': no such file.")
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("trainer.json"))
            data = z.read("trainer.npz")
            net_bytes = z.read("network")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as err:
        raise LayerGraphError(f"'{path}' is not a layergraph checkpoint or it is damaged ({err}).") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise LayerGraphError(f"'{path}' is not a layergraph checkpoint of a known version.")
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-net-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(net_bytes)
        net = load(tmp)
    finally:
        os.remove(tmp)
    try:
        with np.load(_io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise LayerGraphError(f"The arrays of checkpoint '{path}' are damaged ({err}).") from None
    state = TrainState(params={}, solver_state={})
    best = {}
    try:
        for kind, *key, name in meta["index"]:
            value = arrays[name]
            if kind == "param":
                state.params.setdefault(key[0], {})[key[1]] = value
            elif kind == "solver":
                state.solver_state.setdefault((key[0], key[1]), {})[key[2]] = value
            elif kind == "best":
                best.setdefault(key[0], {})[key[1]] = value
            elif kind == "order":
                state.order = value
        for field in ("iteration", "epoch", "position", "rng_state", "history", "best_loss", "best_iteration",
                      "bad_validations", "elapsed"):
            setattr(state, field, meta[field])
    except (KeyError, ValueError, TypeError) as err:
        raise LayerGraphError(f"Checkpoint '{path}' is incomplete ({err}).") from None
    state.best_params = best or None
    return net, state
