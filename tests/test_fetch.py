"""Tests of wilsonian.data.fetch against a loopback HTTP server serving generated files."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import re
import struct
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from wilsonian.data import REMOTE_DATASETS, build_pool, fetch_dataset
from wilsonian.errors import WilsonianError

IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def idx_gz(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return gzip.compress(header + array.tobytes())


#: Bytes the ``/endless/`` route managed to send, by request path, once it has finished.
STREAMED: dict[str, int] = {}
STREAM_DONE: dict[str, threading.Event] = {}
ENDLESS_TOTAL = 128 << 20


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory; records request paths. Hostile routes:

    ``/short/NAME`` lies about its length; ``/slow/NAME`` drips one byte every 50 ms;
    ``/endless/NAME`` streams 128 MiB of zeros without a length; ``/huge-length/NAME``
    announces a terabyte; ``/to-file/NAME``, ``/to-ftp/NAME`` redirect to other schemes;
    ``/moved/NAME`` redirects to ``/NAME`` on this server.
    """

    requests: list[str]

    def do_GET(self):  # noqa: N802 (http.server API)
        self.requests.append(self.path)
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/endless/"):
            self.send_response(200)
            self.end_headers()
            sent, chunk = 0, bytes(1 << 16)
            try:
                while sent < ENDLESS_TOTAL:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:  # the client hung up
                pass
            finally:
                STREAMED[self.path] = sent
                STREAM_DONE.setdefault(self.path, threading.Event()).set()
                self.close_connection = True
            return
        if self.path.startswith("/slow/"):  # a byte every 50 ms, until the client is gone
            self.send_response(200)
            self.send_header("Content-Length", "2000")
            self.end_headers()
            try:
                for _ in range(2000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            self.close_connection = True
            return
        if self.path.startswith("/huge-length/"):
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self.close_connection = True
            return
        name = self.path.rsplit("/", 1)[-1]
        targets = {"/to-file/": Path(self.directory, name).as_uri(),
                   "/to-ftp/": f"ftp://127.0.0.1/{name}", "/moved/": f"/{name}"}
        for prefix, target in targets.items():
            if self.path.startswith(prefix):
                self.send_response(302 if prefix != "/moved/" else 301)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        super().do_GET()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server on a free port, serving ``tmp_path / "served"``."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []
    handler = functools.partial(
        type("Handler", (_Handler,), {"requests": requests}), directory=str(served)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        yield served, url, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def serve_mnist(served: Path, seed=0):
    """MNIST-format files with 40 train and 20 test images of 4×4 pixels."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", 40), ("t10k", 20)):
        images = rng.integers(1, 256, size=(n, 4, 4), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (served / f"{prefix}-images-idx3-ubyte.gz").write_bytes(idx_gz(images))
        (served / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(idx_gz(labels))
        arrays[prefix] = (images, labels)
    checksums = {name: sha256((served / name).read_bytes()) for name in IDX_NAMES}
    return arrays, checksums


def leftovers(directory: Path) -> list[str]:
    """Hidden temporary files/directories left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_fetch_mnist_then_load(server, tmp_path):
    served, url, requests = server
    arrays, checksums = serve_mnist(served)
    dest = tmp_path / "data" / "mnist"
    paths = fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert [p.name for p in paths] == list(IDX_NAMES)
    for path in paths:
        assert path.read_bytes() == (served / path.name).read_bytes()
        assert path.stat().st_mode & 0o044 == 0o044  # readable by others, like any download
    assert leftovers(dest) == []
    assert sorted(requests) == sorted("/" + n for n in IDX_NAMES)

    images, labels = arrays["train"]
    pool = build_pool("mnist", data_dir=dest, classes=(2, 5), preprocessing="none")
    rows = np.flatnonzero((labels == 2) | (labels == 5))
    np.testing.assert_array_equal(pool.X, images[rows].reshape(len(rows), -1) / 255.0)
    np.testing.assert_array_equal(pool.y, np.where(labels[rows] == 2, 1.0, -1.0))


def test_refetch_skips_verified_files(server, tmp_path, capsys):
    served, url, requests = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    fetch_dataset("mnist", dest, mirror=url.rstrip("/"), checksums=checksums)
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    n_requests = len(requests)
    paths = fetch_dataset("mnist", dest, mirror=url, checksums=checksums, progress=True)
    assert len(requests) == n_requests  # nothing downloaded again
    assert {p.name: p.stat().st_mtime_ns for p in paths} == before
    err = capsys.readouterr().err
    assert err.count("already present, SHA-256 verified: skipped") == 4


def test_a_file_with_other_content_is_refused_not_replaced(server, tmp_path):
    # e.g. Debian's recompressed copies: not a file wilsonian wrote, so it is never replaced,
    # and nothing is downloaded before the refusal
    served, url, requests = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"the user's own")
    n_requests = len(requests)
    with pytest.raises(WilsonianError, match="is present but is not the file wilsonian fetches"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert (dest / "t10k-labels-idx1-ubyte.gz").read_bytes() == b"the user's own"
    assert sorted(p.name for p in dest.iterdir()) == ["t10k-labels-idx1-ubyte.gz"]
    assert len(requests) == n_requests


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    served, url, _ = server
    _, checksums = serve_mnist(served)
    # the served train labels are corrupted: they no longer match the expected digest
    corrupted = served / "train-labels-idx1-ubyte.gz"
    corrupted.write_bytes(corrupted.read_bytes()[:-5] + b"\x00" * 5)
    dest = tmp_path / "d"
    with pytest.raises(WilsonianError, match=r"checksum mismatch for train-labels-idx1-ubyte\.gz"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    # the file before it was verified and kept; the corrupted one and its temp file are gone
    assert sorted(p.name for p in dest.iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_default_digests_refuse_other_files(server, tmp_path):
    served, url, _ = server
    serve_mnist(served)  # generated files cannot have the real MNIST digests
    dest = tmp_path / "d"
    dest.mkdir()  # a data directory that existed before is kept
    with pytest.raises(WilsonianError, match="checksum mismatch"):
        fetch_dataset("mnist", dest, mirror=url)
    assert list(dest.iterdir()) == []
    fresh = tmp_path / "new" / "d"  # folders the failed fetch created are removed again
    with pytest.raises(WilsonianError, match="checksum mismatch"):
        fetch_dataset("mnist", fresh, mirror=url)
    assert not (tmp_path / "new").exists()


def test_http_errors_leave_nothing(server, tmp_path):
    served, url, _ = server
    dest = tmp_path / "d"
    dest.mkdir()  # existed before: kept, and left empty
    with pytest.raises(WilsonianError, match="could not download .*train-images"):
        fetch_dataset("mnist", dest, mirror=url)  # nothing served: 404
    assert list(dest.iterdir()) == []
    with pytest.raises(WilsonianError, match="could not download|stopped after"):
        fetch_dataset("mnist", dest, mirror=url + "short/")  # connection ends early
    assert list(dest.iterdir()) == []


def test_file_url_mirror(tmp_path):
    served = tmp_path / "mirror"
    served.mkdir()
    _, checksums = serve_mnist(served)
    paths = fetch_dataset("fashion-mnist", tmp_path / "d", mirror=served.as_uri(),
                          checksums=checksums)
    assert len(paths) == 4 and all(p.is_file() for p in paths)


def test_argument_errors(tmp_path):
    with pytest.raises(WilsonianError, match="needs no download"):
        fetch_dataset("digits", tmp_path)
    with pytest.raises(WilsonianError, match="mnist, fashion-mnist, cifar10"):
        fetch_dataset("svhn", tmp_path)
    with pytest.raises(WilsonianError, match="mirror must be"):
        fetch_dataset("mnist", tmp_path, mirror="ftp://example.org/")
    with pytest.raises(WilsonianError, match="64 hexadecimal"):
        fetch_dataset("mnist", tmp_path, checksums={"train-images-idx3-ubyte.gz": "abc"})
    with pytest.raises(WilsonianError, match="unknown file"):
        fetch_dataset("mnist", tmp_path, checksums={"mnist.npz": "0" * 64})
    with pytest.raises(WilsonianError, match="timeout"):
        fetch_dataset("mnist", tmp_path, timeout=0)


def test_default_sources():
    # The standard file names, base URLs, and well-formed digests (sources: see fetch.py).
    assert REMOTE_DATASETS["mnist"].base_url == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert REMOTE_DATASETS["fashion-mnist"].base_url == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    )
    assert REMOTE_DATASETS["cifar10"].base_url == "https://www.cs.toronto.edu/~kriz/"
    for name in ("mnist", "fashion-mnist"):
        assert tuple(f.name for f in REMOTE_DATASETS[name].files) == IDX_NAMES
    assert [f.name for f in REMOTE_DATASETS["cifar10"].files] == ["cifar-10-python.tar.gz"]
    for remote in REMOTE_DATASETS.values():
        for f in remote.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256) and f.size > 0


# --------------------------------------------------------------------------- CIFAR-10


def cifar_tarball(extra: dict[str, bytes] | None = None, seed=0):
    """A cifar-10-python.tar.gz in the real layout, with 3 images per batch."""
    rng = np.random.default_rng(seed)
    members: dict[str, bytes] = {}
    batches = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rng.integers(1, 256, size=(3, 3072), dtype=np.uint8)
        labels = [8, 9, (k + 2) % 10]
        batch = {b"batch_label": b"b", b"labels": labels, b"data": data,
                 b"filenames": [b"a.png", b"b.png", b"c.png"]}
        members[f"cifar-10-batches-py/{name}"] = pickle.dumps(batch, protocol=2)
        batches[name] = (data, np.array(labels))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
             b"horse", b"ship", b"truck"]
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": names, b"num_vis": 3072}, protocol=2
    )
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    members.update(extra or {})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), batches


def test_fetch_cifar10_tarball_then_load(server, tmp_path):
    served, url, requests = server
    archive, batches = cifar_tarball()
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    checksums = {"cifar-10-python.tar.gz": sha256(archive)}
    dest = tmp_path / "cifar"
    paths = fetch_dataset("cifar10", dest, mirror=url, checksums=checksums)
    root = dest.resolve()
    assert paths == [root / "cifar-10-python.tar.gz", root / "cifar-10-batches-py"]
    assert leftovers(dest) == []

    pool = build_pool("cifar10", data_dir=dest, preprocessing="none")  # ship vs truck
    train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = np.concatenate([batches[f"data_batch_{i}"][1] for i in range(1, 6)])
    rows = np.flatnonzero((labels == 8) | (labels == 9))
    np.testing.assert_array_equal(pool.X, train[rows] / 255.0)
    np.testing.assert_array_equal(pool.y, np.where(labels[rows] == 8, 1.0, -1.0))

    # fetching again neither downloads nor unpacks
    n_requests = len(requests)
    batch_mtime = (dest / "cifar-10-batches-py" / "test_batch").stat().st_mtime_ns
    fetch_dataset("cifar10", dest, mirror=url, checksums=checksums)
    assert len(requests) == n_requests
    assert (dest / "cifar-10-batches-py" / "test_batch").stat().st_mtime_ns == batch_mtime


def test_cifar10_unpacks_again_when_incomplete(server, tmp_path):
    served, url, requests = server
    archive, _ = cifar_tarball()
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    checksums = {"cifar-10-python.tar.gz": sha256(archive)}
    dest = tmp_path / "cifar"
    fetch_dataset("cifar10", dest, mirror=url, checksums=checksums)
    (dest / "cifar-10-batches-py" / "data_batch_4").unlink()
    fetch_dataset("cifar10", dest, mirror=url, checksums=checksums)
    assert len(requests) == 1
    assert (dest / "cifar-10-batches-py" / "data_batch_4").is_file()


@pytest.mark.parametrize("evil", ["../escaped.txt", "cifar-10-batches-py/../../escaped.txt",
                                  "/tmp/absolute-escaped.txt"])
def test_cifar10_unsafe_archive_refused(server, tmp_path, evil):
    served, url, _ = server
    archive, _ = cifar_tarball(extra={evil: b"gotcha"})
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    dest = tmp_path / "nested" / "cifar"
    with pytest.raises(WilsonianError, match="outside"):
        fetch_dataset("cifar10", dest, mirror=url,
                      checksums={"cifar-10-python.tar.gz": sha256(archive)})
    assert not (tmp_path / "nested" / "escaped.txt").exists()
    assert not (dest / "escaped.txt").exists()
    assert not (dest / "cifar-10-batches-py").exists()
    assert leftovers(dest) == []


def test_cifar10_wrong_archive_content(server, tmp_path):
    served, url, _ = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("something-else/readme.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (served / "cifar-10-python.tar.gz").write_bytes(buffer.getvalue())
    dest = tmp_path / "cifar"
    with pytest.raises(WilsonianError, match="not the CIFAR-10 python version"):
        fetch_dataset("cifar10", dest, mirror=url,
                      checksums={"cifar-10-python.tar.gz": sha256(buffer.getvalue())})
    assert not (dest / "cifar-10-batches-py").exists() and leftovers(dest) == []


# --------------------------------------------------------------------------- hostile servers


def test_oversized_stream_is_stopped_at_the_known_size(server, tmp_path):
    served, url, _ = server
    dest = tmp_path / "new" / "mnist"
    known = REMOTE_DATASETS["mnist"].files[0].size  # train-images: 9,912,422 bytes
    with pytest.raises(WilsonianError, match=f"sends more than the {known} bytes"):
        fetch_dataset("mnist", dest, mirror=url + "endless/")
    path = "/endless/train-images-idx3-ubyte.gz"
    assert STREAM_DONE.setdefault(path, threading.Event()).wait(10)
    # the server got to send the known size plus what the socket buffers held, not 128 MiB
    assert STREAMED[path] < ENDLESS_TOTAL // 2
    assert not (tmp_path / "new").exists()


def test_sizes_override_and_announced_length_beyond_the_size(server, tmp_path):
    served, url, requests = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    length = (served / "train-images-idx3-ubyte.gz").stat().st_size
    with pytest.raises(WilsonianError, match=rf"announces {length} bytes, more than the 50 bytes"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums,
                      sizes={"train-images-idx3-ubyte.gz": 50})
    with pytest.raises(WilsonianError, match=r"announces 1000000000000 bytes, more than"):
        fetch_dataset("mnist", dest, mirror=url + "huge-length/", checksums=checksums)
    assert not dest.exists()
    for sizes, match in (({"x.gz": 5}, "unknown file"),
                         ({"train-images-idx3-ubyte.gz": 0}, "positive number of bytes"),
                         ({"train-images-idx3-ubyte.gz": 2.5}, "positive number of bytes")):
        with pytest.raises(WilsonianError, match=match):
            fetch_dataset("mnist", dest, mirror=url, sizes=sizes)
    sizes = {name: len((served / name).read_bytes()) for name in IDX_NAMES}
    assert len(fetch_dataset("mnist", dest, mirror=url, checksums=checksums, sizes=sizes)) == 4


@pytest.mark.parametrize("route, scheme", [("to-file", "file"), ("to-ftp", "ftp")])
def test_redirects_to_other_schemes_are_refused(server, tmp_path, route, scheme):
    served, url, _ = server
    _, checksums = serve_mnist(served)  # the file:// target exists and has the right digest
    dest = tmp_path / "d"
    with pytest.raises(WilsonianError, match=f"refusing the redirect .* to {scheme}://"):
        fetch_dataset("mnist", dest, mirror=url + route + "/", checksums=checksums)
    assert not dest.exists()


def test_redirects_within_http_are_followed(server, tmp_path):
    served, url, requests = server
    _, checksums = serve_mnist(served)
    paths = fetch_dataset("mnist", tmp_path / "d", mirror=url + "moved/", checksums=checksums)
    assert [p.read_bytes() for p in paths] == [(served / n).read_bytes() for n in IDX_NAMES]
    assert "/moved/t10k-labels-idx1-ubyte.gz" in requests and "/t10k-labels-idx1-ubyte.gz" in requests


MALFORMED_MIRRORS = [
    "", "mnist", "example.org/mnist/", "ftp://example.org/", "gopher://x/", "http://",
    "https:///path/", "http://[::1/", "http://host:99999/", "http://host:port/", "http://host:0/",
    "http://exa mple.org/", "http://example.org/\n", "http://user:secret@example.org/",
    "http://example.org/?mirror=1", "http://example.org/#x", "http://bücher.example/",
    "file://otherhost/srv/mnist/", "file:relative/path", 42, None.__class__,
]


@pytest.mark.parametrize("mirror", MALFORMED_MIRRORS)
def test_malformed_mirror_is_refused_before_any_work(tmp_path, mirror):
    dest = tmp_path / "d"
    with pytest.raises(WilsonianError, match="mirror must be an http://, https:// or file://"):
        fetch_dataset("mnist", dest, mirror=mirror)
    assert not dest.exists()


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), -1, 0, 3601, 1e300, True, "60",
                                     None])
def test_bad_timeout_is_refused(tmp_path, timeout):
    with pytest.raises(WilsonianError, match="timeout must be a positive, finite number"):
        fetch_dataset("mnist", tmp_path / "d", timeout=timeout)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("option", [["--timeout", "inf"], ["--timeout", "nan"],
                                    ["--mirror", "http://[::1"], ["--mirror", "http://h:x/"]])
def test_cli_bad_fetch_options_are_one_line_errors(tmp_path, capsys, option):
    from wilsonian.app.cli import main

    code = main(["data", "fetch", "mnist", "--data-dir", str(tmp_path / "d"), "--quiet", *option])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


# --------------------------------------------------------------------------- data directory


def test_failed_fetch_removes_only_the_folders_it_created(server, tmp_path):
    served, url, _ = server
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    dest = existing / "a" / "b" / "mnist"
    with pytest.raises(WilsonianError, match="could not download"):
        fetch_dataset("mnist", dest, mirror=url)  # nothing served: 404
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]
    assert (existing / "notes.txt").read_text() == "mine"
    # a pre-existing data directory is kept, with what it held
    with pytest.raises(WilsonianError, match="could not download"):
        fetch_dataset("mnist", existing, mirror=url)
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


def test_verified_files_are_kept_in_a_created_folder(server, tmp_path):
    served, url, _ = server
    _, checksums = serve_mnist(served)
    (served / "t10k-images-idx3-ubyte.gz").unlink()
    dest = tmp_path / "d"
    with pytest.raises(WilsonianError, match="could not download .*t10k-images"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert sorted(p.name for p in dest.iterdir()) == sorted(IDX_NAMES[:2])  # resumed next time


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_fetch_removes_temporaries_of_killed_fetches_only(server, tmp_path):
    import os

    from wilsonian.atomic import _host_tag

    served, url, _ = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    dest.mkdir()
    host, dead = _host_tag(), _dead_pid()
    stale = [f".train-images-idx3-ubyte.gz.{host}-{dead}.0123abcd.part.tmp",
             f".results.json.{host}-{dead}.89abcdef.tmp"]
    kept = [f".train-labels-idx1-ubyte.gz.{host}-{os.getpid()}.0123abcd.part.tmp",  # alive
            f".t10k-labels-idx1-ubyte.gz.otherhost-{dead}.0123abcd.part.tmp",   # other machine
            ".train-images-idx3-ubyte.gz.k2j4_x9a.part.tmp",  # older naming: writer unknown
            ".my-notes.tmp", "keep.part.tmp", f"visible.{host}-{dead}.0123abcd.tmp"]
    for name in stale + kept:
        (dest / name).write_bytes(b"partial")
    (dest / f".link.{host}-{dead}.0123abcd.tmp").symlink_to(dest / "keep.part.tmp")
    staging = dest / ".cifar-10-batches-py.abcd1234.tmp"
    staging.mkdir()
    (staging / ".wilsonian-staging").write_text(f"{__import__('socket').gethostname()} {dead}\n")
    live_staging = dest / ".cifar-10-batches-py.live1234.tmp"
    live_staging.mkdir()
    (live_staging / ".wilsonian-staging").write_text(f"{__import__('socket').gethostname()} {os.getpid()}\n")
    unmarked = dest / ".something.x1.tmp"
    unmarked.mkdir()

    fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    names = {p.name for p in dest.iterdir()}
    assert not names & set(stale) and staging.name not in names
    assert set(kept) <= names and f".link.{host}-{dead}.0123abcd.tmp" in names
    assert {live_staging.name, unmarked.name} <= names
    assert set(IDX_NAMES) <= names


def test_temporary_of_a_killed_fetch_is_removed_by_the_next(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    import wilsonian

    served, url, _ = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    script = ("import sys; from wilsonian.data import fetch_dataset; "
              "fetch_dataset('mnist', sys.argv[1], mirror=sys.argv[2], timeout=30)")
    env = {**os.environ, "PYTHONPATH": str(Path(wilsonian.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(dest), url + "slow/"], env=env)
    try:
        deadline = time.monotonic() + 30
        while not (dest.is_dir() and leftovers(dest)) and time.monotonic() < deadline:
            time.sleep(0.05)
        (partial,) = leftovers(dest)
        assert f"-{proc.pid}." in partial and partial.endswith(".part.tmp")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert leftovers(dest) == [partial]  # killed: nothing could clean up
    fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert leftovers(dest) == []
    assert sorted(p.name for p in dest.iterdir()) == sorted(IDX_NAMES)


def test_interrupted_fetch_removes_its_temporary_and_folder(server, tmp_path, monkeypatch):
    from wilsonian.data import fetch as fetch_module

    served, url, _ = server
    _, checksums = serve_mnist(served)
    real_sha256 = fetch_module.hashlib.sha256

    class Interrupting:
        def __init__(self):
            self.inner = real_sha256()

        def update(self, data):
            raise KeyboardInterrupt

        def hexdigest(self):  # pragma: no cover
            return self.inner.hexdigest()

    monkeypatch.setattr(fetch_module.hashlib, "sha256", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        fetch_dataset("mnist", tmp_path / "new" / "d", mirror=url, checksums=checksums)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]


def test_remove_stale_temporaries_helper(tmp_path):
    from wilsonian.atomic import _host_tag, atomic_path, remove_stale_temporaries

    assert remove_stale_temporaries(tmp_path / "missing") == []
    dead = _dead_pid()
    leftover = tmp_path / f".out.npz.{_host_tag()}-{dead}.0123abcd.npz.tmp"
    leftover.write_bytes(b"x")
    with atomic_path(tmp_path / "out.npz", suffix=".npz") as tmp:
        tmp.write_bytes(b"new")
        assert remove_stale_temporaries(tmp_path) == [leftover]  # the live one is kept
        assert tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


# --------------------------------------------------------------------------- OS errors


def test_name_too_long_and_file_in_the_path(tmp_path):
    with pytest.raises(WilsonianError, match=r"cannot create the data directory .*too long"):
        fetch_dataset("mnist", tmp_path / ("x" * 300) / "mnist", mirror="http://127.0.0.1:9/")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(WilsonianError, match=r"'.*file/sub'.*Not a directory"):
        fetch_dataset("mnist", tmp_path / "file" / "sub", mirror="http://127.0.0.1:9/")
    with pytest.raises(WilsonianError, match="is not a directory"):
        fetch_dataset("mnist", tmp_path / "file", mirror="http://127.0.0.1:9/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_disk_full_while_writing(server, tmp_path, monkeypatch):
    import builtins
    import errno

    from wilsonian.data import fetch as fetch_module

    served, url, _ = server
    _, checksums = serve_mnist(served)

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(path, mode="r", *args, **kwargs):
        if "w" in mode or "x" in mode:
            return FullDisk(path, mode.replace("b", ""))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(fetch_module, "open", full_open, raising=False)
    dest = tmp_path / "d"
    with pytest.raises(WilsonianError, match=r"cannot write '.*train-images-idx3-ubyte\.gz': No "
                                             r"space left on device; the disk is full; free some space"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert not dest.exists()


def test_read_only_data_directory(server, tmp_path, monkeypatch):
    import errno
    import os

    from wilsonian import atomic

    served, url, _ = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    dest.mkdir()

    def read_only(path, suffix):
        raise OSError(errno.EROFS, "Read-only file system", str(path.parent))

    monkeypatch.setattr(atomic, "_create_temporary", read_only)
    with pytest.raises(WilsonianError, match=r"'.*/d': Read-only file system; choose another "
                                             r"location\.$"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    monkeypatch.undo()
    assert dest.is_dir() and list(dest.iterdir()) == []
    if os.geteuid() != 0:  # root writes anywhere: the real case needs another user
        dest.chmod(0o555)
        try:
            with pytest.raises(WilsonianError, match=r"'.*/d.*': Permission denied"):
                fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
        finally:
            dest.chmod(0o755)


def test_folder_where_a_file_belongs(server, tmp_path):
    served, url, _ = server
    _, checksums = serve_mnist(served)
    dest = tmp_path / "d"
    (dest / "train-labels-idx1-ubyte.gz").mkdir(parents=True)
    with pytest.raises(WilsonianError, match=r"train-labels-idx1-ubyte\.gz' exists but is not a "
                                             r"file"):
        fetch_dataset("mnist", dest, mirror=url, checksums=checksums)
    assert (dest / "train-labels-idx1-ubyte.gz").is_dir()


# --------------------------------------------------------------------------- hostile archives


def cifar_tarball_with(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """The test CIFAR-10 archive with ``members`` (header, data) added in front."""
    archive, _ = cifar_tarball()
    buffer = io.BytesIO()
    with (tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as source,
          tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as tar):
        for info, data in members:
            tar.addfile(info, None if data is None else io.BytesIO(data))
        for info in source.getmembers():
            tar.addfile(info, source.extractfile(info) if info.isfile() else None)
    return buffer.getvalue()


def _info(name, kind=tarfile.REGTYPE, size=0, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, size, link, 0o644
    return info


def forged_size_tarball(name: str, size: int) -> bytes:
    """A tar.gz whose only member announces ``size`` bytes and holds none."""
    header = _info(name, size=size).tobuf(format=tarfile.GNU_FORMAT)
    return gzip.compress(header + bytes(1024))


def forged_extended_header_tarball(kind: bytes, size: int) -> bytes:
    """A tar.gz starting with a pax or GNU long-name header that announces ``size`` bytes."""
    info = _info("././@LongLink", size=size)
    info.type = kind
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(4096))


def sparse_tarball() -> bytes:
    info = _info("cifar-10-batches-py/data_batch_1", tarfile.GNUTYPE_SPARSE, size=0)
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(4096))


def fetch_archive(server, tmp_path, archive: bytes):
    served, url, _ = server
    (served / "cifar-10-python.tar.gz").write_bytes(archive)
    dest = tmp_path / "cifar"
    dest.mkdir(exist_ok=True)
    return dest, lambda: fetch_dataset("cifar10", dest, mirror=url,
                                       checksums={"cifar-10-python.tar.gz": sha256(archive)})


HOSTILE_ARCHIVES = {
    "symlink to /etc/passwd": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/data_batch_9", tarfile.SYMTYPE, link="/etc/passwd"), None)),
        "not a regular file or directory"),
    "symlink out, then a file through it": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/sub", tarfile.SYMTYPE, link="../.."), None),
        (_info("cifar-10-batches-py/sub/escaped.txt", size=3), b"bad")),
        "not a regular file or directory"),
    "hard link": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/readme.html", tarfile.LNKTYPE, link="/etc/passwd"), None)),
        "not a regular file or directory"),
    "device": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/disk", tarfile.BLKTYPE), None)),
        "not a regular file or directory"),
    "fifo": (lambda: cifar_tarball_with((_info("cifar-10-batches-py/pipe", tarfile.FIFOTYPE), None)),
             "not a regular file or directory"),
    "dot-dot member": (lambda: cifar_tarball_with((_info("cifar-10-batches-py/../../x", size=1), b"x")),
                       "outside"),
    "absolute member": (lambda: cifar_tarball_with((_info("/tmp/wilsonian-absolute", size=1), b"x")),
                        "outside"),
    "forged 10 GB member": (lambda: forged_size_tarball("cifar-10-batches-py/data_batch_1", 10**10),
                            "declares 10000000000 bytes"),
    "forged 10 GB member of another name": (lambda: forged_size_tarball("junk/zeros", 10**10),
                                            "declares 10000000000 bytes"),
    "forged 10 GB pax header": (lambda: forged_extended_header_tarball(tarfile.XHDTYPE, 10**10),
                                "extended header of 10000000000 bytes"),
    "forged 10 GB long name": (lambda: forged_extended_header_tarball(
        tarfile.GNUTYPE_LONGNAME, 10**10), "extended header of 10000000000 bytes"),
    "sparse member": (sparse_tarball, "sparse file"),
    "batch larger than the real one": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/batches.meta", size=(1 << 20) + 1), bytes((1 << 20) + 1))),
        "more than the 1048576 bytes of the real file"),
    "too many members": (lambda: cifar_tarball_with(
        *[(_info(f"junk/{i}", size=1), b"x") for i in range(70)]), "more than 64 members"),
    "member twice": (lambda: cifar_tarball_with(
        (_info("cifar-10-batches-py/test_batch", size=1), b"x")), "appears twice"),
    "truncated archive": (lambda: cifar_tarball()[0][:3000], "cannot unpack"),
    "not an archive": (lambda: b"<html>mirror error page</html>", "cannot unpack"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_ARCHIVES))
def test_hostile_archives_are_refused(server, tmp_path, kind):
    make, match = HOSTILE_ARCHIVES[kind]
    dest, fetch = fetch_archive(server, tmp_path, make())
    with pytest.raises(WilsonianError, match=match):
        fetch()
    # only the verified archive stays: no unpacked folder, no staging folder, nothing outside
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar", "served"]
    assert not Path("/tmp/wilsonian-absolute").exists()


def test_unpacking_never_replaces_a_folder_holding_other_files(server, tmp_path):
    archive, _ = cifar_tarball()
    dest, fetch = fetch_archive(server, tmp_path, archive)
    unpacked = dest / "cifar-10-batches-py"
    unpacked.mkdir()
    (unpacked / "my-analysis.ipynb").write_text("mine")
    (unpacked / "data_batch_1").write_bytes(b"stale")
    with pytest.raises(WilsonianError, match=r"holds files that are not CIFAR-10's "
                                             r"\(my-analysis\.ipynb\)"):
        fetch()
    assert sorted(p.name for p in unpacked.iterdir()) == ["data_batch_1", "my-analysis.ipynb"]
    (unpacked / "my-analysis.ipynb").unlink()
    fetch()  # only CIFAR-10 files in it now: replaced
    assert (unpacked / "data_batch_1").read_bytes() != b"stale"
    assert leftovers(dest) == []


def test_unknown_members_are_not_unpacked(server, tmp_path):
    archive = cifar_tarball_with((_info("cifar-10-batches-py/extra.bin", size=4), b"abcd"),
                                 (_info("elsewhere/file.txt", size=2), b"hi"))
    dest, fetch = fetch_archive(server, tmp_path, archive)
    fetch()
    assert sorted(p.name for p in (dest / "cifar-10-batches-py").iterdir()) == sorted(
        [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta", "readme.html"])
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_disk_full_while_unpacking(server, tmp_path, monkeypatch):
    import builtins
    import errno

    from wilsonian.data import archive as archive_module

    archive, _ = cifar_tarball()
    dest, fetch = fetch_archive(server, tmp_path, archive)

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(path, mode="r", *args, **kwargs):
        if "x" in mode:  # the unpacked files, not the download
            return FullDisk(path, mode.replace("b", ""))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(archive_module, "open", full_open, raising=False)
    with pytest.raises(WilsonianError, match=r"cannot write '.*cifar-10-batches-py.*': No space"):
        fetch()
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python.tar.gz"]
