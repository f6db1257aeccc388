"""Two-dimensional teaching distributions: the data space itself can be plotted.

Each function returns points (n, 2) float32 and integer labels (n,) (the moon, mixture
component or arm each point came from), deterministically from `seed`. Use them with
likelihood="gaussian": the points are real numbers, not pixels.
"""

import numpy as np


def two_moons(n, seed, noise=0.1):
    """Two interleaved half circles of radius 1, with Gaussian noise of std `noise`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    points = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # the upper moon
    lower = labels == 1
    points[lower] = np.stack([1 - np.cos(angle[lower]), 0.5 - np.sin(angle[lower])], axis=1)
    points += noise * rng.standard_normal((n, 2))
    return points.astype(np.float32), labels


def gaussian_mixture(n, seed, components=8, radius=2.0, std=0.15):
    """`components` equal Gaussians of std `std` on a circle of radius `radius`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, components, n)
    angle = 2 * np.pi * labels / components
    centres = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return (centres + std * rng.standard_normal((n, 2))).astype(np.float32), labels


def pinwheel(n, seed, arms=5, radial_std=0.3, tangential_std=0.05, rate=0.25):
    """`arms` arms that curl more the further out a point lies (Johnson et al., 2016)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, arms, n)
    radial = 1 + radial_std * rng.standard_normal(n)  # distance along the arm
    tangential = tangential_std * rng.standard_normal(n)
    angle = 2 * np.pi * labels / arms + rate * np.exp(radial)
    cos, sin = np.cos(angle), np.sin(angle)
    points = np.stack([cos * radial - sin * tangential, sin * radial + cos * tangential], axis=1)
    return (2 * points).astype(np.float32), labels
