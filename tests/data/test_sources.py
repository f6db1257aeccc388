"""Finding MNIST-style datasets on disk, in order, and downloading them from a local HTTP
server (127.0.0.1): verified files land in the cache, anything else leaves nothing behind."""

import functools
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from minivae.data import load_dataset, sources
from minivae.data.idx import write_idx
from minivae.data.sources import FILENAMES, DatasetNotFoundError, RemoteDataset, locate
from minivae.errors import DataError


def write_fake_dataset(directory, n_train=6, n_test=4):
    """Four small, valid IDX files; returns their SHA-256s in FILENAMES order."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    ]
    for name, array in zip(FILENAMES, arrays, strict=True):
        write_idx(os.path.join(directory, name), array)
    return [
        hashlib.sha256(open(os.path.join(directory, n), "rb").read()).hexdigest() for n in FILENAMES
    ]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No MINIVAE_DATA, nothing hidden, a cache inside tmp_path, an empty 'system' directory."""
    monkeypatch.delenv("MINIVAE_DATA", raising=False)
    monkeypatch.delenv(sources.HIDE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "system").mkdir()
    return tmp_path


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def use_checksums(monkeypatch, sha256):
    fake = RemoteDataset("mnist", tuple(sha256), ("http://127.0.0.1:9/",), "test instructions")
    monkeypatch.setitem(sources.DATASETS, "mnist", fake)


def test_search_order_explicit_then_env_then_cache_then_system(isolated, monkeypatch):
    system = isolated / "system"
    write_fake_dataset(system / "mnist")
    found = locate("mnist", download=False, system_dir=str(system))
    assert found[0] == str(system / "mnist" / FILENAMES[0])
    cache = isolated / "cache" / "minivae" / "mnist"
    write_fake_dataset(cache)
    assert locate("mnist", download=False, system_dir=str(system))[0].startswith(str(cache))
    env_dir = isolated / "env"
    write_fake_dataset(env_dir / "mnist")  # MINIVAE_DATA may hold <name>/ ...
    monkeypatch.setenv("MINIVAE_DATA", str(env_dir))
    assert locate("mnist", download=False, system_dir=str(system))[0].startswith(str(env_dir))
    explicit = isolated / "explicit"
    write_fake_dataset(explicit)  # ... or the files directly
    found = locate("mnist", data_dir=str(explicit), download=False, system_dir=str(system))
    assert found[0] == str(explicit / FILENAMES[0])


def test_a_directory_missing_one_file_is_passed_over(isolated):
    partial = isolated / "partial"
    write_fake_dataset(partial)
    os.remove(partial / FILENAMES[3])
    with pytest.raises(DatasetNotFoundError) as err:
        locate("mnist", data_dir=str(partial), download=False, system_dir=str(isolated / "system"))
    message = str(err.value)
    for place in (str(partial), str(isolated / "cache"), str(isolated / "system" / "mnist")):
        assert place in message
    assert "download not attempted" in message and "To get it:" in message


def test_download_lands_verified_files_in_the_cache(isolated, server, monkeypatch):
    root, url = server
    use_checksums(monkeypatch, write_fake_dataset(root))
    paths = locate("mnist", system_dir=str(isolated / "system"), urls=(url,))
    cache = isolated / "cache" / "minivae" / "mnist"
    assert paths == [str(cache / f) for f in FILENAMES]
    assert sorted(os.listdir(cache)) == sorted(FILENAMES)  # no temporary files left
    train, test = load_dataset("mnist", download=False)  # now found in the cache
    assert train.x.shape == (6, 784) and test.x.shape == (4, 784)
    assert train.x.dtype == np.float32 and 0 <= train.x.min() and train.x.max() <= 1


def test_wrong_checksum_is_rejected_and_nothing_stays_in_the_cache(isolated, server, monkeypatch):
    root, url = server
    sha256 = write_fake_dataset(root)
    sha256[0] = "0" * 64
    use_checksums(monkeypatch, sha256)
    with pytest.raises(
        DataError, match=r"has SHA-256 [0-9a-f]{64}, but the published file has 0{64}"
    ):
        locate("mnist", system_dir=str(isolated / "system"), urls=(url,))
    assert os.listdir(isolated / "cache" / "minivae" / "mnist") == []


def test_unreachable_server_lists_the_places_searched_and_how_to_get_it(
    isolated, server, monkeypatch
):
    root, url = server
    use_checksums(monkeypatch, ["0" * 64] * 4)  # nothing is served: every request is a 404
    with pytest.raises(DatasetNotFoundError) as err:
        locate("mnist", system_dir=str(isolated / "system"), urls=(url, "http://127.0.0.1:9/"))
    message = str(err.value)
    assert "the download failed" in message and "File not found" in message
    assert "127.0.0.1:9" in message and "test instructions" in message
    assert os.listdir(isolated / "cache" / "minivae" / "mnist") == []


def test_hiding_the_installed_data_leaves_only_the_places_the_caller_names(
    isolated, server, monkeypatch
):
    """MINIVAE_HIDE_INSTALLED_DATA=1: a dataset in the cache and in the system directory is
    not found, nothing is downloaded though the server has it, the error says why; a
    directory named by --data-dir or MINIVAE_DATA is still found."""
    system = isolated / "system"
    write_fake_dataset(system / "mnist")
    cache = isolated / "cache" / "minivae" / "mnist"
    write_fake_dataset(cache)
    root, url = server
    use_checksums(monkeypatch, write_fake_dataset(root))
    monkeypatch.setenv(sources.HIDE_VARIABLE, "1")
    with pytest.raises(DatasetNotFoundError) as err:
        locate("mnist", system_dir=str(system), urls=(url,))
    message = str(err.value)
    assert "MINIVAE_HIDE_INSTALLED_DATA=1" in message and "nothing was downloaded" in message
    assert str(cache) not in message.split("(MINIVAE")[0]  # not listed as searched
    assert sorted(os.listdir(cache)) == sorted(FILENAMES)  # the cache untouched
    env_dir = isolated / "env"
    write_fake_dataset(env_dir)
    monkeypatch.setenv("MINIVAE_DATA", str(env_dir))
    assert locate("mnist", download=False, system_dir=str(system))[0].startswith(str(env_dir))
    explicit = isolated / "explicit"
    write_fake_dataset(explicit)
    found = locate("mnist", data_dir=str(explicit), download=False, system_dir=str(system))
    assert found[0] == str(explicit / FILENAMES[0])
    monkeypatch.setenv(sources.HIDE_VARIABLE, "0")  # 0 hides nothing
    monkeypatch.delenv("MINIVAE_DATA")
    assert locate("mnist", download=False, system_dir=str(system))[0].startswith(str(cache))


def test_a_hide_variable_that_is_neither_0_nor_1_is_refused(isolated, monkeypatch):
    monkeypatch.setenv(sources.HIDE_VARIABLE, "yes")
    with pytest.raises(DataError, match="MINIVAE_HIDE_INSTALLED_DATA='yes': set it to 1"):
        locate("mnist", download=False, system_dir=str(isolated / "system"))


def test_labels_that_do_not_match_the_images_are_refused(isolated):
    directory = isolated / "bad"
    write_fake_dataset(directory)
    write_idx(directory / FILENAMES[1], np.zeros(5, np.uint8))  # 5 labels for 6 images
    with pytest.raises(DataError, match="holds .5,. labels for 6 images"):
        load_dataset("mnist", data_dir=str(directory), download=False)
