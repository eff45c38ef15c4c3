"""The examples a newcomer starts with run and print what the docs say they print."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_matlab_layers_example():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "matlab_layers.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=dict(os.environ, COLUMNS="120")).stdout
    assert "  11x1 Layer array with layers:" in out
    assert ("     2   ''   Convolution             16 3x3 convolutions with stride [1  1] and padding "
            "[1  1  1  1]") in out
    assert "  BatchNormalizationLayer with properties:" in out
    assert "Batch normalization with 16 channels" in out
    assert "size(activations(net, X, 'relu_2')) = (16, 16, 32, 16)" in out


def test_train_digits_example():
    """The README's first Quick start line: trains, prints the verbose table, reaches
    at least 95% on held-out digits and loads back the same network."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "train_digits.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "|  Epoch  |  Iteration  |  Time Elapsed  |" in out
    assert "Training finished: Max epochs completed." in out
    assert "Batch normalization with 32 channels" in out
    acc = float(out.split("Held-out accuracy: ")[1].split()[0])
    assert acc >= 0.95
    assert "same scores True" in out


def test_wolfram_digits_example():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "wolfram_digits.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "Input port:       array (size: 1×8×8)" in out
    assert float(out.split("Held-out accuracy: ")[1].split()[0]) >= 0.95


def test_both_dialects_example():
    """A MATLAB-trained CNN opens as a NetChain with the same scores, is fine-tuned with
    NetTrain, saved and loaded, and goes back to a dlnetwork with the same scores."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "both_dialects.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "Input port:       array (size: 1×8×8)" in out and "  ConvolutionLayer  " in out
    assert "same scores: True" in out
    assert "loaded back the same: True" in out
    assert "dlnetwork gives the Wolfram net's scores: True" in out
    assert "Convolution           16 3x3x1 convolutions" in out
    assert float(out.split("Held-out accuracy (Wolfram, fine-tuned): ")[1].split()[0]) >= 0.9



def test_digits_from_folder_example():
    """MATLAB's "Create Simple Deep Learning Network for Classification" on a folder of PNG
    files: the datastore's printout, the label counts, training from the files, and the
    accuracy on the held-out files."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_from_folder.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "  ImageDatastore with properties:" in out
    assert "                      Labels: [0; 0; 0 ... and 1794 more categorical]" in out
    assert "    Label    Count\n    _____    _____\n\n    0        178\n" in out
    assert "size(img) = (8, 8)" in out
    assert "Trained from 1350 PNG files for 240 iterations" in out
    assert float(out.split("accuracy = ")[1].split()[0]) >= 0.9


def test_custom_training_loop_example():
    """MATLAB's "Train Network Using Custom Training Loop" (dlfeval, dlgradient, sgdmupdate with a
    time-based decay) on the digits: reaches the accuracy trainNetwork reaches on the same layers."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "custom_training_loop.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "Epoch 10, iteration 110," in out
    assert "  10(C) × 6(B) single dlarray" in out
    ours = float(out.split("Custom loop accuracy: ")[1].split()[0])
    theirs = float(out.split("trainNetwork accuracy: ")[1].split()[0])
    assert ours >= 0.95 and ours >= theirs - 0.02


def test_sequence_digits_example():
    """Digits read row by row as 8 time steps by an LSTM: the layer array, the verbose table,
    >= 95% held out, and stateful prediction over two halves giving the whole digits' scores."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "sequence_digits.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert "     1   ''   Sequence Input          Sequence input with 8 dimensions" in out
    assert "LSTM with 64 hidden units" in out
    assert "|  Epoch  |  Iteration  |  Time Elapsed  |" in out
    assert float(out.split("Held-out accuracy: ")[1].split()[0]) >= 0.95
    assert "give the whole digits' scores: True" in out
    assert "the state is zero again: True" in out


def test_wolfram_sequence_digits_example():
    """Digits read row by row, 8 steps of 8 features, by a LongShortTermMemoryLayer: >= 95%."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "wolfram_sequence_digits.py")],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "Input port:       matrix (size: n\u00d78)" in out
    assert "SequenceLastLayer         vector (size: 64)" in out
    assert float(out.split("Held-out accuracy: ")[1].split()[0]) >= 0.95
    assert "Two sequences of lengths 6 and 8:" in out
