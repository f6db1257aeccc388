"""Debian's Fashion-MNIST holds the published data, although its .gz files are not the published
ones: the package recompresses them (other gzip headers, so other SHA-256s than the ones
minivae.data.sources checks on download), but what they decompress to is byte for byte the
published IDX files. The SHA-256s below are of the decompressed files, as other projects that
verify Fashion-MNIST list them."""

import gzip
import hashlib
import os

import pytest

from minivae.data.sources import FILENAMES

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
PUBLISHED_PAYLOAD_SHA256 = (  # in FILENAMES order, of the files once gunzipped
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
)


@pytest.mark.skipif(
    not os.path.isdir(DEBIAN_DIR),
    reason=f"{DEBIAN_DIR} absent (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.parametrize("index", range(4), ids=FILENAMES)
def test_debian_fashion_mnist_decompresses_to_the_published_files(index):
    with gzip.open(os.path.join(DEBIAN_DIR, FILENAMES[index]), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == PUBLISHED_PAYLOAD_SHA256[index]
