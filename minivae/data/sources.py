"""Where MNIST and Fashion-MNIST come from: looked for on disk, else downloaded and verified.

A dataset's four IDX files are looked for, in this order, in
1. the directory passed as `data_dir` (the CLI's --data-dir),
2. the directory in the MINIVAE_DATA environment variable,
3. the user's cache, $XDG_CACHE_HOME/minivae/<name> (default ~/.cache/minivae/<name>),
4. /usr/share/datasets/<name>, where Debian's packages put them
   (`apt-get install dataset-fashion-mnist`),
and in 1 and 2 both directly and in a <name>/ subdirectory. Each file may be there as
published (train-images-idx3-ubyte.gz) or already gunzipped (train-images-idx3-ubyte). The
first place that holds all four files wins. Otherwise they are downloaded from the dataset's
official location (then a well-known mirror) into the cache: each file goes to a temporary name
in the cache directory, its SHA-256 is checked against the published value, and only then is it
renamed into place, so the cache never holds a partial or unverified file.

Files found on disk are not hashed (Debian recompresses the archives, so their bytes differ
from the published ones); the IDX reader checks their headers and lengths instead.

MINIVAE_HIDE_INSTALLED_DATA=1 makes a machine that has a dataset look like one that has not:
only 1 and 2 are searched (the places the caller names), neither the cache nor
/usr/share/datasets, and nothing is downloaded. It is how the notebook tests see what a learner
without Fashion-MNIST sees on a machine where it is installed; the error that says the dataset
was not found names the variable, so a hidden dataset is never mistaken for a missing one.
"""

import dataclasses
import hashlib
import http.client
import os
import urllib.error
import urllib.request

from minivae.errors import DataError
from minivae.files import REGULAR, atomic_write, file_kind, os_problem

SYSTEM_DIR = "/usr/share/datasets"
HIDE_VARIABLE = "MINIVAE_HIDE_INSTALLED_DATA"  # "1": search only data_dir and $MINIVAE_DATA
DOWNLOAD_TIMEOUT = 15  # seconds without an answer before a server counts as unreachable
ROLES = ("train_images", "train_labels", "test_images", "test_labels")
FILENAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class DatasetNotFoundError(DataError):
    """The dataset is nowhere on disk and could not be downloaded."""


@dataclasses.dataclass(frozen=True)
class RemoteDataset:
    name: str
    sha256: tuple  # of the published .gz files, in the order of FILENAMES
    urls: tuple  # base URLs, tried in order
    how_to_get: str  # what to tell a person when it cannot be found


DATASETS = {
    "mnist": RemoteDataset(
        "mnist",
        (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
        ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
        "download the four files of http://yann.lecun.com/exdb/mnist/ on a machine with a "
        "network and pass their directory with --data-dir (or set MINIVAE_DATA)",
    ),
    "fashion-mnist": RemoteDataset(
        "fashion-mnist",
        (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "on Debian or Ubuntu: apt-get install dataset-fashion-mnist; or put the four files "
        "in a directory and pass it with --data-dir (or set MINIVAE_DATA)",
    ),
}


def cache_dir(name):
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "minivae", name)


def installed_data_hidden():
    """True when $MINIVAE_HIDE_INSTALLED_DATA is 1, False when it is unset, empty or 0."""
    value = os.environ.get(HIDE_VARIABLE, "")
    if value not in ("", "0", "1"):
        raise DataError(f"{HIDE_VARIABLE}={value!r}: set it to 1 to hide the installed "
                        "datasets (the cache and /usr/share/datasets), or unset it")
    return value == "1"


def candidate_dirs(name, data_dir=None, system_dir=SYSTEM_DIR):
    """The directories searched, in order (see the module docstring)."""
    dirs = []
    for explicit in (data_dir, os.environ.get("MINIVAE_DATA")):
        if explicit:
            dirs += [explicit, os.path.join(explicit, name)]
    if installed_data_hidden():
        return dirs
    return dirs + [cache_dir(name), os.path.join(system_dir, name)]


def locate(name, data_dir=None, download=True, system_dir=SYSTEM_DIR, urls=None):
    """Paths of the four files of dataset `name` (train images, labels, test images, labels)."""
    remote = DATASETS[name]
    searched = candidate_dirs(name, data_dir, system_dir)
    for directory in searched:
        paths = _files_in(directory)
        if paths:
            return paths
    hidden = installed_data_hidden()
    failures = []
    if download and not hidden:
        try:
            return _download(remote, urls or remote.urls)
        except DatasetNotFoundError as err:
            failures.append(str(err))
    if hidden:
        failures.append(f"({HIDE_VARIABLE}=1: the cache and {system_dir} were not searched, "
                        "and nothing was downloaded; unset it to use an installed copy)")
    raise DatasetNotFoundError(
        f"dataset {name!r} not found. Looked for {', '.join(FILENAMES)} (gzipped or not) in:\n  "
        + ("\n  ".join(searched) or "(nowhere: no --data-dir, no MINIVAE_DATA)")
        + ("\n" + "\n".join(failures) if failures else "\n(download not attempted)")
        + f"\nTo get it: {remote.how_to_get}."
    )


def _files_in(directory):
    """The four files in `directory`, each <file>.gz or else <file> gunzipped; None if one lacks."""
    paths = []
    for filename in FILENAMES:
        gzipped, plain = os.path.join(directory, filename), os.path.join(directory, filename[:-3])
        found = [path for path in (gzipped, plain) if _is_dataset_file(path)]
        if not found:
            return None
        paths.append(found[0])
    return paths


def _is_dataset_file(path):
    """True for a regular file at `path`, False for nothing there. Anything else there (a
    directory or a named pipe with a dataset file's name) is a DataError: it is a mistake to
    point out, not a file to pass over in silence."""
    try:
        kind = file_kind(path)
    except OSError as err:
        raise DataError(f"{path}: cannot be read: {os_problem(err)}") from None
    if kind not in (None, REGULAR):
        raise DataError(
            f"{path} is {kind}, not a regular file: a dataset file must be the IDX file "
            "itself; move it away, or pass --data-dir with the four files"
        )
    return kind == REGULAR


def _download(remote, urls):
    target = cache_dir(remote.name)
    os.makedirs(target, exist_ok=True)
    paths = []
    for filename, sha256 in zip(FILENAMES, remote.sha256, strict=True):
        path = os.path.join(target, filename)
        if not os.path.isfile(path):
            _fetch_verified(filename, sha256, urls, path)
        paths.append(path)
    return paths


def _fetch_verified(filename, sha256, urls, path):
    """Download `filename` from the first URL that answers into `path`, or raise."""
    errors = []
    for base in urls:
        url = base + filename
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                _save_if_verified(response, url, sha256, path)
            return
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            # HTTPException: the server hung up mid-transfer (IncompleteRead) or spoke no HTTP
            errors.append(f"  {url}: {getattr(err, 'reason', err)}")
    raise DatasetNotFoundError("the download failed:\n" + "\n".join(errors))


def _save_if_verified(response, url, sha256, path):
    """Stream into a temporary file beside `path`, hashing; rename it only if the hash is right."""
    digest = hashlib.sha256()
    with atomic_write(path) as f:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            f.write(chunk)
        if digest.hexdigest() != sha256:  # raising here deletes the download, `path` untouched
            raise DataError(
                f"{url} has SHA-256 {digest.hexdigest()}, but the published file has {sha256}: "
                "the download is corrupt or not the real dataset, so it was deleted"
            )
