"""The 2-D teaching distributions: shapes, labels, determinism by seed, and their geometry."""

import numpy as np
import pytest

from minivae.data import toy2d

MAKERS = {
    "two_moons": (toy2d.two_moons, 2),
    "gaussian_mixture": (toy2d.gaussian_mixture, 8),
    "pinwheel": (toy2d.pinwheel, 5),
}


@pytest.mark.parametrize("name", MAKERS)
def test_points_labels_and_determinism(name):
    make, classes = MAKERS[name]
    points, labels = make(3000, seed=7)
    assert points.shape == (3000, 2) and points.dtype == np.float32
    assert labels.shape == (3000,) and np.issubdtype(labels.dtype, np.integer)
    assert sorted(np.unique(labels)) == list(range(classes))  # every class drawn, no other
    again, labels_again = make(3000, seed=7)
    np.testing.assert_array_equal(points, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(points, make(3000, seed=8)[0])


def test_moons_lie_on_their_half_circles():
    points, labels = toy2d.two_moons(4000, seed=0, noise=0.0)
    upper, lower = points[labels == 0], points[labels == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1, atol=1e-5)  # centred on (0, 0), y >= 0
    assert upper[:, 1].min() >= 0
    np.testing.assert_allclose(np.hypot(*(lower - [1, 0.5]).T), 1, atol=1e-5)
    assert lower[:, 1].max() <= 0.5 + 1e-6  # centred on (1, 0.5), opening upwards


def test_mixture_components_sit_on_the_ring_with_their_std():
    points, labels = toy2d.gaussian_mixture(16000, seed=0)
    for k in range(8):
        mine = points[labels == k]
        centre = 2.0 * np.array([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)])
        np.testing.assert_allclose(mine.mean(axis=0), centre, atol=0.03)
        np.testing.assert_allclose(mine.std(axis=0), 0.15, rtol=0.1)


def test_pinwheel_arms_point_in_different_directions_and_curl():
    points, labels = toy2d.pinwheel(10000, seed=0)
    directions = np.array([points[labels == k].mean(axis=0) for k in range(5)])
    angles = np.sort(np.arctan2(directions[:, 1], directions[:, 0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    np.testing.assert_allclose(gaps, 2 * np.pi / 5, atol=0.1)  # five evenly spread arms
    arm = points[labels == 0]
    radius, angle = np.hypot(*arm.T), np.arctan2(arm[:, 1], arm[:, 0])
    assert np.corrcoef(radius, angle)[0, 1] > 0.5  # further out, further round: the curl
