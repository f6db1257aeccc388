"""Downloads that go wrong half-way, from a server on 127.0.0.1 that misbehaves on purpose:
each must end in a DataError, with nothing left in the cache."""

import http.server
import os
import threading

import pytest

from minivae.data import sources
from minivae.data.sources import DatasetNotFoundError, RemoteDataset, locate
from minivae.errors import DataError

PROMISED = 1000  # bytes the server says it will send; it sends 100 and hangs up


class HangsUp(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the start of a body, then closes the connection."""

    protocol_version = "HTTP/1.1"
    chunked = False

    def do_GET(self):
        self.send_response(200)
        if self.chunked:  # one chunk announced as 0x3e8 = 1000 bytes, 100 sent
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n" % PROMISED + b"x" * 100)
        else:
            self.send_header("Content-Length", str(PROMISED))
            self.end_headers()
            self.wfile.write(b"x" * 100)
        self.close_connection = True

    def log_message(self, *args):
        pass


class HangsUpChunked(HangsUp):
    chunked = True


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache inside tmp_path, no MINIVAE_DATA, and checksums that nothing served matches."""
    monkeypatch.delenv("MINIVAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fake = RemoteDataset("mnist", ("0" * 64,) * 4, (), "test instructions")
    monkeypatch.setitem(sources.DATASETS, "mnist", fake)
    return tmp_path / "cache" / "minivae" / "mnist"


def serve(handler):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}/"


def test_a_chunked_transfer_cut_short_is_a_failed_download(cache, tmp_path):
    httpd, url = serve(HangsUpChunked)
    try:
        with pytest.raises(DatasetNotFoundError) as err:
            locate("mnist", system_dir=str(tmp_path), urls=(url,))
    finally:
        httpd.shutdown()
        httpd.server_close()
    message = str(err.value)
    assert "the download failed" in message and "IncompleteRead" in message
    assert "test instructions" in message
    assert os.listdir(cache) == []


def test_a_body_shorter_than_its_length_fails_the_checksum(cache, tmp_path):
    httpd, url = serve(HangsUp)
    try:
        with pytest.raises(DataError, match=r"has SHA-256 [0-9a-f]{64}, but the published file"):
            locate("mnist", system_dir=str(tmp_path), urls=(url,))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert os.listdir(cache) == []
