"""The robustness report: accuracy of the shipped image models on MNIST test digits that were
drawn or captured differently, read through the service's own upload preprocessing.

``python -m robustness`` (run by ``make train`` after training) uploads every MNIST test digit
under each condition of :mod:`robustness.transforms` as a PNG, turns it back into a 28x28 digit
with ``service.images.images_to_mnist`` (what ``POST /predict`` does with an image file), predicts
with ``service.engine`` (what the service answers) and writes the accuracies into each model's
card, ``models/robustness.json`` and ``models/robustness.png``.

It imports both ``training/`` (the verified MNIST data) and ``service/``, so it lives in neither:
like ``tests/test_contract.py``, it is where the two sides meet. Keeping it outside spares
``training/`` a copy of the upload preprocessing that could drift from the service's.
"""
