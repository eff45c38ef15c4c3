"""layergraph against PyTorch CPU on common network shapes: one command, one table of ratios.

    python benchmarks/suite.py                       # the full run (about 15 minutes on 2 cores)
    python benchmarks/suite.py --quick               # a smoke run: seed CNN and MLP, batch 32
    python benchmarks/suite.py --nets resnet20,vgg --batch 128 --repeats 10
    python benchmarks/suite.py --markdown            # the tables as markdown, for docs/performance.md

What is measured (the networks are in benchmarks/nets.py, built with the same shapes on both
sides; float32; the numba cache warm except where said):

* **Throughput**: images per second of one training step (forward in training mode,
  softmax cross-entropy and its gradient, backward, an SGD-with-momentum update and the
  batch-normalization running statistics) and of prediction (layergraph: ``predict`` on
  MATLAB-layout data, the user's path; torch: eval mode under ``inference_mode`` plus a
  softmax), at batch 32 and 128, for the seed CNN, ResNet-20, a MobileNet-style net, a
  VGG-style net, a 3-layer MLP and an LSTM sequence classifier (observations per second:
  images, feature vectors, or sequences of 100 steps; layergraph's sequences are MATLAB's
  cell array of C x T arrays, torch's one N x T x C tensor). Every (network, batch, side) runs in its own fresh
  process, which trains first and then predicts; the two sides are taken in turn (the order
  flips each round, so a busy spell hits both), and the table gives the median over all
  timed runs of all rounds, and layergraph / torch.
* **Peak RSS** of each training process (the child's high-water mark, taken after the
  training steps and before prediction; see max_rss_mb), and the peak after importing the
  side's library, before the network is built.
* **First-call latency** in fresh processes: import, then building the seed CNN and running
  it once, for training (layergraph: ``trainNetwork`` on one mini-batch of 128; torch: one
  step) and for prediction (128 images). layergraph with a cold numba cache (an empty
  ``NUMBA_CACHE_DIR``, so every kernel it needs is compiled) and then with that cache warm.
* **The two dialects' entry points** on the seed CNN, each in its own processes: MATLAB
  ``trainNetwork`` against Wolfram ``NetTrain`` (the same 4 iterations of 128 images, SGD
  with momentum, the moving BN statistics) and MATLAB ``predict`` against evaluating the
  Wolfram net (128 images), to show that they cost the same.

Default run: 4 rounds; in each process 2 warm-up runs, then at least 5 timed runs and at
least 1 s of timed runs (so the cheap networks get more samples, 5 to about 100 runs). That is
chosen so that the whole run (4 x 24 processes per side for throughput, 6 start-up processes,
4 x 4 dialect processes) takes 10 to 15 minutes on a 2-core machine: the training steps of
ResNet-20, the MobileNet-style and the VGG-style nets at batch 128 (0.5 to 1.2 s each) and
the process starts (about 2.5 s each) are most of it. The suite prints an estimate before it starts and the time it
took. Threads: 2 per side unless ``--threads`` (the harness sets numba's, OpenMP's, OpenBLAS's
and MKL's pools, and torch.set_num_threads). The children import the layergraph of this
checkout. The suite times; it asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nets  # noqa: E402
from _harness import REPO, load, machine, report, run_child, thread_env, timed  # noqa: E402

SIDES = ("layergraph", "torch")
BATCHES = (32, 128)
FULL = {"rounds": 4, "warmup": 2, "repeats": 5, "min_seconds": 1.0}
QUICK = {"rounds": 1, "warmup": 1, "repeats": 2, "min_seconds": 0.0}
QUICK_NETS, QUICK_BATCHES = ("seed", "mlp"), (32,)
MAX_RUNS = 200           # timed runs per process at most, however cheap the network
DIALECT_ITERATIONS = 4   # mini-batches of 128 per trainNetwork / NetTrain call
STARTUP_BATCH = 128
# Goals of issue 16: at least 1.0x torch everywhere, 1.5x on these networks
GOAL = {"seed": 1.5, "resnet20": 1.5}

# For the estimate printed before a run: seconds per training step and per prediction (the
# slower side) and the fixed cost of a process, measured on a 2-core development machine (an
# AMD EPYC VM, 1-min load about 0.7): rough figures; the real time scales with the machine.
NOMINAL = {("seed", 32): (0.012, 0.004), ("seed", 128): (0.04, 0.016),
           ("resnet20", 32): (0.16, 0.045), ("resnet20", 128): (0.6, 0.15),
           ("mobilenet", 32): (0.28, 0.05), ("mobilenet", 128): (1.0, 0.18),
           ("vgg", 32): (0.31, 0.095), ("vgg", 128): (1.2, 0.3),
           ("mlp", 32): (0.008, 0.002), ("mlp", 128): (0.012, 0.004),
           ("lstm", 32): (0.05, 0.02), ("lstm", 128): (0.15, 0.05)}
PROCESS_SECONDS = 2.5
# per start-up process (layergraph cold, warm; torch), training and prediction
STARTUP_SECONDS = {"train": (15.0, 3.0, 4.0), "predict": (6.0, 3.0, 3.0)}
DIALECT_SECONDS = 4.0    # per dialect process


# -- in the children ----------------------------------------------------------------------------------
def sample(fn, cfg):
    """Times of fn after cfg's warm-up runs: at least cfg's repeats and, when the runs are short,
    enough more to fill cfg's min_seconds (MAX_RUNS at most)."""
    times = timed(fn, cfg["repeats"], cfg["warmup"])
    spent = sum(times)
    if spent < cfg["min_seconds"]:
        more = math.ceil((cfg["min_seconds"] - spent) / max(statistics.median(times), 1e-6))
        times += timed(fn, min(more, MAX_RUNS - len(times)), 0)
    return times


def max_rss_mb():
    """Peak resident set size of this process so far, in MiB. On Linux from /proc/self/status
    (VmHWM): ``resource.getrusage``'s ru_maxrss keeps the parent's peak across exec there, so a
    child started by a parent that has imported torch would report at least the parent's size.
    Elsewhere getrusage (macOS gives bytes, other systems KiB)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2 ** 10
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2 ** 20 if sys.platform == "darwin" else r / 2 ** 10


def child_throughput(side, name, n, cfg):
    if side == "layergraph":
        import numba  # noqa: F401  (loaded by the first kernel; counted in the import figure)

        import layergraph  # noqa: F401
        base = max_rss_mb()
        step, net = nets.train_step(name, n)
        train = sample(step, cfg)
        peak = max_rss_mb()
        X, _ = nets.matlab_data(name, n)
        predict = sample(lambda: net.predict(X, MiniBatchSize=n), cfg)
    else:
        import torch  # noqa: F401
        base = max_rss_mb()
        step, module = nets.torch_train_step(name, n)
        train = sample(step, cfg)
        peak = max_rss_mb()
        predict = sample(nets.torch_predictor(module, name, n), cfg)
    report({"train": train, "predict": predict, "rss_peak": peak, "rss_import": base})


def child_startup(side, what):
    """Import, then build the seed CNN and run it once (train or predict); seconds of each."""
    n = STARTUP_BATCH
    t0 = time.perf_counter()
    c0 = time.process_time()
    if side == "layergraph":
        import layergraph
        t1 = time.perf_counter()
        X, labels = nets.matlab_data("seed", n)
        t2 = time.perf_counter()
        if what == "train":
            layergraph.trainNetwork(X, layergraph.categorical(labels), nets.classifier_layers("seed"),
                                    nets.matlab_options())
        else:
            nets.dlnet("seed").predict(X, MiniBatchSize=n)
    else:
        import torch  # noqa: F401
        t1 = time.perf_counter()
        t2 = time.perf_counter()
        if what == "train":
            step, _ = nets.torch_train_step("seed", n)
            step()
        else:
            nets.torch_predictor(nets.torch_module("seed"), "seed", n)()
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    helper = 0.0
    if side == "layergraph":  # the first run's compile helper (train/compiling.py), if one started: its CPU time
        from layergraph.train import compiling
        if compiling._background:
            compiling._background.wait()
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            helper = ru.ru_utime + ru.ru_stime
    report({"import": t1 - t0, "first": t3 - t2, "cpu": cpu, "helper_cpu": helper})


def child_dialect(side, what, cfg):
    """Seconds per call of one dialect's training or prediction entry point on the seed CNN."""
    if what == "train":
        n = 128 * DIALECT_ITERATIONS
        if side == "matlab":
            from layergraph import categorical, trainNetwork
            X, labels = nets.matlab_data("seed", n)
            Y, layers, opts = categorical(labels), nets.classifier_layers("seed"), nets.matlab_options()

            def call():
                trainNetwork(X, Y, layers, opts)
        else:
            from layergraph.wolfram import NetTrain
            x, labels = nets.internal_data("seed", n)
            chain, kw = nets.wolfram_seed(), nets.wolfram_train_options()

            def call():
                NetTrain(chain, (x, labels + 1), **kw)   # class indices from 1
    else:
        n = 128
        if side == "matlab":
            net, (X, _) = nets.dlnet("seed"), nets.matlab_data("seed", n)

            def call():
                net.predict(X, MiniBatchSize=n)
        else:
            from layergraph.wolfram import NetInitialize
            net, (x, _) = NetInitialize(nets.wolfram_seed(), RandomSeeding=0), nets.internal_data("seed", n)

            def call():
                net(x, BatchSize=n)
    report({"times": sample(call, {**cfg, "warmup": 1}), "images": n})


# -- in the parent ------------------------------------------------------------------------------------
def estimate(names, batches, cfg, parts, cold=True):
    """Seconds the run should take on the development machine (see NOMINAL)."""
    def proc(t):
        runs = max(cfg["repeats"], min(MAX_RUNS, math.ceil(cfg["min_seconds"] / t)))
        return (cfg["warmup"] + runs) * t
    total = 0.0
    if "throughput" in parts:
        for name in names:
            for n in batches:
                tr, pr = NOMINAL.get((name, n), (NOMINAL[(name, 128)][0] * n / 128, NOMINAL[(name, 128)][1] * n / 128))
                total += 2 * cfg["rounds"] * (PROCESS_SECONDS + proc(tr) + proc(pr))
    if "startup" in parts:
        total += sum((c if cold else 0) + w + t for c, w, t in STARTUP_SECONDS.values())
    if "dialects" in parts:
        total += 4 * cfg["rounds"] * DIALECT_SECONDS
    return total


class Results:
    def __init__(self):
        self.samples = {}      # (name, batch, side, mode) -> [seconds]
        self.rss = {}          # (name, batch, side) -> [(peak, import)]
        self.startup = {}      # (side, cache, what) -> {"import": s, "first": s}
        self.dialects = {}     # (side, what) -> ([seconds], images)
        self.header = {}

    def throughput_rows(self):
        """[(name, batch, mode, layergraph observations/s, torch observations/s, ratio, goal)]"""
        rows = []
        keys = sorted({(k[0], k[1]) for k in self.samples}, key=lambda k: (nets.NAMES.index(k[0]), k[1]))
        for name, n in keys:
            for mode in ("train", "predict"):
                ours = n / statistics.median(self.samples[(name, n, "layergraph", mode)])
                theirs = n / statistics.median(self.samples[(name, n, "torch", mode)])
                rows.append((name, n, mode, ours, theirs, ours / theirs, GOAL.get(name, 1.0)))
        return rows


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def _commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def measure(a) -> Results:
    cfg = {k: getattr(a, k) for k in FULL}
    me = os.path.abspath(__file__)
    env = thread_env(a.threads)
    common = ["--threads", str(a.threads), "--warmup", str(a.warmup), "--repeats", str(a.repeats),
              "--min-seconds", str(a.min_seconds)]
    res = Results()
    res.header = {**machine(), "threads": a.threads, "commit": _commit(), "cfg": cfg,
                  "load_before": load(), "start": time.time()}
    guess = estimate(a.nets, a.batch, cfg, a.parts, cold=not a.quick)
    _progress(f"suite: estimated run time about {guess / 60:.1f} min (from a 2-core machine's figures)")
    if res.header["load_before"] > 0.25 * (os.cpu_count() or 1):
        _progress(f"suite: the machine is busy (1-min load average {res.header['load_before']:.2f}); torch's "
                  "spinning OpenMP threads slow down many times over when a core is taken, so ratios measured "
                  "now say little")
    t_start = time.perf_counter()

    if "throughput" in a.parts:
        cases = [(name, n) for name in a.nets for n in a.batch]
        for r in range(a.rounds):
            t_round = time.perf_counter()
            for name, n in cases:
                for side in (SIDES if r % 2 == 0 else SIDES[::-1]):
                    out = run_child([me, "--child", "throughput", "--side", side, "--net", name, "--batch", str(n),
                                     *common], env)
                    for mode in ("train", "predict"):
                        res.samples.setdefault((name, n, side, mode), []).extend(out[mode])
                    res.rss.setdefault((name, n, side), []).append((out["rss_peak"], out["rss_import"]))
            spent = time.perf_counter() - t_round
            left = spent * (a.rounds - r - 1)
            _progress(f"suite: throughput round {r + 1} of {a.rounds} took {spent:.0f} s"
                      + (f"; about {left / 60:.1f} min of throughput rounds left" if left else ""))

    if "startup" in a.parts:
        cache = tempfile.mkdtemp(prefix="layergraph-suite-numba-")
        try:
            for what in ("train", "predict"):
                # its own empty cache per entry point, so that each cold figure compiles all it needs
                folder = os.path.join(cache, what)
                os.makedirs(folder)
                # --quick: the user's own (warm) cache only; compiling everything takes tens of seconds
                lg_env = env if a.quick else thread_env(a.threads, NUMBA_CACHE_DIR=folder)
                for state in ("warm",) if a.quick else ("cold", "warm"):
                    res.startup[("layergraph", state, what)] = run_child(
                        [me, "--child", "startup", "--side", "layergraph", "--what", what], lg_env)
                res.startup[("torch", "-", what)] = run_child(
                    [me, "--child", "startup", "--side", "torch", "--what", what], env)
            _progress("suite: first-call latency measured")
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    if "dialects" in a.parts:
        for r in range(a.rounds):
            for what in ("train", "predict"):
                for side in (("matlab", "wolfram") if r % 2 == 0 else ("wolfram", "matlab")):
                    out = run_child([me, "--child", "dialect", "--side", side, "--what", what, *common], env)
                    times, n = res.dialects.get((side, what), ([], out["images"]))
                    res.dialects[(side, what)] = (times + out["times"], n)
        _progress("suite: dialect entry points measured")

    res.header["load_after"] = load()
    res.header["seconds"] = time.perf_counter() - t_start
    res.header["estimate"] = guess
    return res


def _table(head, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows])


def render(res: Results, markdown=False) -> str:
    h = res.header
    cfg = h["cfg"]
    out = [f"# CPU: {h.get('cpu', h['machine'])}, {h['cores']} cores; {h['threads']} threads per side",
           f"# python {h['python']}, numpy {h['numpy']}, numba {h['numba']}, torch {h['torch']}; "
           f"layergraph at {h['commit']}",
           f"# {cfg['rounds']} rounds, each (network, batch, side) in a fresh process, sides alternating; "
           f"per process {cfg['warmup']} warm-up runs, then at least {cfg['repeats']} timed runs and "
           f"{cfg['min_seconds']:g} s; medians over all timed runs",
           f"# 1-min load average {h['load_before']:.2f} before, {h['load_after']:.2f} after; "
           f"took {h['seconds'] / 60:.1f} min (estimated {h['estimate'] / 60:.1f})"
           # (the load after includes the suite's own two threads)
           + ("; the machine was BUSY before the start: do not quote these ratios"
              if h["load_before"] > 0.5 * h["cores"] else "")]
    if markdown:
        out = [line[2:] + "  " for line in out]
    if res.samples:
        rows = []
        for name, n, mode, ours, theirs, ratio, goal in res.throughput_rows():
            rss = ["", ""]
            if mode == "train":
                rss = [f"{statistics.median(p for p, _ in res.rss[(name, n, s)]):.0f} "
                       f"({statistics.median(b for _, b in res.rss[(name, n, s)]):.0f})" for s in SIDES]
            rows.append([nets.DESCRIPTIONS[name], str(n), "training step" if mode == "train" else "prediction",
                         f"{ours:,.0f}", f"{theirs:,.0f}", f"{ratio:.2f}x",
                         f"{goal:.1f}x {'met' if ratio >= goal else 'not met'}", *rss])
        out += ["", _table(["network", "batch", "what", "layergraph obs/s", "torch obs/s",
                            "layergraph / torch", "goal", "layergraph peak RSS MiB (after import)",
                            "torch peak RSS MiB (after import)"], rows, markdown)]
        ratios = [r[5] for r in res.throughput_rows()]
        out.append(f"{'' if markdown else '# '}median ratio {statistics.median(ratios):.2f}x, "
                   f"lowest {min(ratios):.2f}x, over {len(ratios)} rows")
        out.append(f"{'' if markdown else '# '}obs/s: observations per second (images; feature vectors for "
                   "the MLP; sequences for the LSTM)")
        if "mobilenet" in {k[0] for k in res.samples}:
            out.append(f"{'' if markdown else '# '}MobileNet-style: ReLU6 only; hard-swish has no layergraph "
                       "layer yet, so MobileNetV3's blocks are not measured.")
    if res.startup:
        rows = []
        for (side, state, what), v in res.startup.items():
            rows.append([side, "numba cache " + state if side == "layergraph" else "-",
                         "trainNetwork, 1 mini-batch of 128" if (side, what) == ("layergraph", "train") else
                         ("1 training step of 128" if what == "train" else "predict 128"),
                         f"{v['import']:.2f}", f"{v['first']:.2f}", f"{v['import'] + v['first']:.2f}",
                         f"{v.get('cpu', float('nan')):.2f}", f"{v.get('helper_cpu', 0.0):.2f}"])
        out += ["", "first call in a fresh process, seed CNN (seconds; one process each; CPU: the process's CPU "
                "time for import + first call, and that of the compile helper process a cold first run starts)",
                _table(["side", "cache", "first call", "import", "build + first call", "total", "CPU",
                        "helper CPU"], rows, markdown)]
    if res.dialects:
        rows = []
        for what, label in (("train", f"training, {DIALECT_ITERATIONS} x 128 images per call"),
                            ("predict", "prediction, 128 images")):
            if ("matlab", what) not in res.dialects:
                continue
            (tm, n), (tw, _) = res.dialects[("matlab", what)], res.dialects[("wolfram", what)]
            m, w = statistics.median(tm), statistics.median(tw)
            rows.append([label, f"{m * 1e3:.1f}", f"{w * 1e3:.1f}", f"{n / m:,.0f}", f"{n / w:,.0f}",
                         f"{w / m:.2f}x"])
        out += ["", "the two dialects' entry points on the seed CNN (median ms per call)",
                _table(["what", "MATLAB trainNetwork / predict", "Wolfram NetTrain / net[x]", "MATLAB images/s",
                        "Wolfram images/s", "Wolfram time / MATLAB time"], rows, markdown)]
    return "\n".join(out)


def _list(cast, allowed=None):
    def parse(text):
        items = [cast(x) for x in text.split(",") if x.strip()]
        bad = [x for x in items if allowed is not None and x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(map(str, allowed))}"
                                             if allowed else "expected a comma-separated list")
        return tuple(items)
    return parse


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", type=_list(str, nets.NAMES), help=f"networks, of {','.join(nets.NAMES)} (default: all)")
    ap.add_argument("--batch", type=_list(int), help="batch sizes (default 32,128)")
    ap.add_argument("--repeats", type=int, help=f"timed runs per process at least (default {FULL['repeats']})")
    ap.add_argument("--rounds", type=int, help=f"processes per side and case, alternating (default {FULL['rounds']})")
    ap.add_argument("--warmup", type=int, help=f"untimed runs first in each process (default {FULL['warmup']})")
    ap.add_argument("--min-seconds", type=float, help="timed seconds per process at least (default 1)")
    ap.add_argument("--parts", type=_list(str, ("throughput", "startup", "dialects")),
                    default=("throughput", "startup", "dialects"), help="which parts to run (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="threads per side (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run of seconds: 1 round, 2 timed runs, seed CNN and MLP at batch 32 unless "
                         "--nets/--batch say otherwise, no cold-cache start-up")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    # a child process: what to measure
    ap.add_argument("--child", choices=("throughput", "startup", "dialect"), help=argparse.SUPPRESS)
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--net", help=argparse.SUPPRESS)
    ap.add_argument("--what", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    base = QUICK if a.quick else FULL
    for k, v in base.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.child is None:
        a.nets = a.nets or (QUICK_NETS if a.quick else nets.NAMES)
        a.batch = a.batch or (QUICK_BATCHES if a.quick else BATCHES)
    for k in ("repeats", "rounds", "threads"):
        if getattr(a, k) < 1:
            ap.error(f"--{k} must be a positive integer, not {getattr(a, k)}")
    if a.warmup < 0 or a.min_seconds < 0:
        ap.error("--warmup and --min-seconds must not be negative")
    return a


def main(argv=None):
    a = parse_args(argv)
    cfg = {k: getattr(a, k) for k in FULL}
    if a.child == "throughput":
        return child_throughput(a.side, a.net, int(a.batch[0]), cfg)
    if a.child == "startup":
        return child_startup(a.side, a.what)
    if a.child == "dialect":
        return child_dialect(a.side, a.what, cfg)
    res = measure(a)
    print(render(res, a.markdown))
    return res


if __name__ == "__main__":
    main()
