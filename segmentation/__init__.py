"""Lesion segmentation: the Django registry of trained models and two Django-free libraries.

- ``segmentation.core``: the PyTorch library (datasets, transforms, models, training, predictor).
- ``segmentation.severity``: severity measures, the colour-threshold baseline and overlays.
Neither imports Django; only ``models``, ``services``, ``selectors``, ``admin`` and the management
commands do.
"""
