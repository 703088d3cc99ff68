"""Integrated Gradients over a model's input embeddings (captum), for the torch families."""
from __future__ import annotations

import numpy as np

from ..errors import EmobenchError


def integrated_gradients(forward, embedding, inputs: tuple, baseline_ids, target: int, steps: int = 50) -> np.ndarray:
    """Per-position attribution toward output ``target``: IG on the embedding layer's output, summed over
    the embedding dimension. ``inputs[0]`` are the token ids; the rest are passed through unchanged."""
    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        raise EmobenchError("explanations of torch models need captum (pip install 'emobench[explain]')") from None
    import torch

    ig = LayerIntegratedGradients(forward, embedding)
    with torch.enable_grad():
        attributions = ig.attribute(inputs=inputs[0], baselines=baseline_ids, additional_forward_args=inputs[1:],
                                    target=target, n_steps=steps, internal_batch_size=steps)
    return attributions.sum(dim=-1)[0].detach().float().cpu().numpy()
