"""Run a real Azurite blob emulator for the tests.

The Blob backend is tested against Azurite rather than mocks, so the suite needs the emulator
installed with ``npm ci`` (``package.json`` pins it). If it is missing or will not start, the
harness raises ``RuntimeError`` and the tests that need it fail: a silently skipped storage suite
would let a broken backend ship.

Each ``Azurite`` keeps its data in an on-disk folder and remembers its port, so a test can
``stop()`` it (storage becomes unreachable) and ``start()`` it again with the same data, which is
how the suite proves that outages surface as ``StoreUnavailableError`` and that the backend
recovers afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"

# Azurite's well-known development account. These are public constants documented by Microsoft,
# not secrets; they only ever open the local emulator.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _free_port() -> int:
    """Ask the kernel for a loopback port nobody is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_answers(port: int) -> bool:
    """True if anything accepts TCP connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _azurite_answers(port: int) -> bool:
    """True if the server on ``port`` is Azurite's blob service.

    Checking the ``Server`` header rather than just the open port means another program that
    happens to hold the port is never mistaken for a ready emulator.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/")
        return connection.getresponse().getheader("Server", "").startswith("Azurite-Blob")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop Azurite gracefully (SIGTERM lets it flush its metadata), then forcibly if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


class Azurite:
    """One Azurite blob service on a loopback port, with its data in a folder on disk.

    Construct it, then ``start()`` (or use it as a context manager). ``stop()`` and ``start()``
    may be repeated: the port and the data folder stay the same, so clients built from
    ``connection_string`` keep working across a restart.
    """

    def __init__(self, workdir: Path | str | None = None, *, in_memory: bool = False) -> None:
        """``in_memory``: keep blobs and their metadata in memory only (``--inMemoryPersistence``).
        With disk persistence Azurite writes its whole metadata database to disk 5 s after any
        change, answering nothing meanwhile (100-200 ms at 10,000 blobs); the benchmark runs
        without it, since no real store pauses like that. Data does not survive a restart."""
        self.in_memory = in_memory
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp("-azurite"))
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "azurite.log"
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._started_once = False
        # If a test run ends without stop() (a crash, a forgotten fixture), the finalizer still
        # terminates the emulator so no node process outlives the run. It holds the process
        # through a list, never through ``self``, so it does not keep this object alive.
        self._process_holder: list[subprocess.Popen[bytes] | None] = [None]
        self._finalizer = weakref.finalize(self, Azurite._cleanup, self._process_holder)

    @staticmethod
    def _cleanup(holder: list[subprocess.Popen[bytes] | None]) -> None:
        process = holder[0]
        if process is not None:
            _terminate(process)

    @property
    def blob_endpoint(self) -> str:
        """The blob service URL, path-style as Azurite serves it (account in the first segment)."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def account_key(self) -> str:
        """The emulator's well-known key, for tests that check it never leaks into messages."""
        return ACCOUNT_KEY

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Azurite and return once it answers HTTP on its port.

        Raises ``RuntimeError`` (never skips) when the emulator is not installed or does not come
        up within ``START_TIMEOUT`` seconds, with the tail of its log. On the very first start a
        port taken by someone else in the meantime is replaced by a fresh one; after that the
        port is fixed, because clients hold URLs that name it.
        """
        if self.running:
            return
        if not AZURITE_BLOB.exists():
            raise RuntimeError(
                f"Azurite is not installed ({AZURITE_BLOB} is missing): run `npm ci` in "
                f"{REPO_ROOT} to install the blob emulator the storage tests need"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._started_once else 3
        for attempt in range(attempts):
            if self._launch():
                self._started_once = True
                return
            if attempt + 1 < attempts:
                self.port = _free_port()
        assert self._process is not None
        raise RuntimeError(
            f"Azurite exited with code {self._process.returncode} on port {self.port}; "
            f"run `npm ci` in {REPO_ROOT} if it is not installed. Log:\n{self._log_tail()}"
        )

    def _launch(self) -> bool:
        """Run the emulator once; True when ready, False when it exited (e.g. port in use)."""
        command = [
            str(AZURITE_BLOB),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            # Azurite refuses a data folder with in-memory persistence.
            *(["--inMemoryPersistence"] if self.in_memory else ["--location", str(self.data_dir)]),
            "--skipApiVersionCheck",  # azure-storage-blob speaks a newer API than Azurite knows
            "--disableProductStyleUrl",  # 127.0.0.1 URLs: account name is the first path segment
            "--disableTelemetry",  # tests make no calls beyond the loopback interface
            "--loose",
            "--silent",
        ]
        with open(self.log_path, "ab") as log:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            except OSError as error:
                raise RuntimeError(
                    f"could not run {AZURITE_BLOB}: {error}; is node installed? run `npm ci` "
                    f"in {REPO_ROOT}"
                ) from error
        self._process = process
        self._process_holder[0] = process
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if _azurite_answers(self.port):
                return True
            time.sleep(0.05)
        _terminate(process)
        raise RuntimeError(
            f"Azurite did not answer on 127.0.0.1:{self.port} within {START_TIMEOUT:.0f} s; "
            f"run `npm ci` in {REPO_ROOT} and check node works. Log:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """Stop the emulator; its data stays in ``data_dir`` for the next ``start()``."""
        if self._process is not None:
            _terminate(self._process)
            self._process = None
            self._process_holder[0] = None
        # Wait until the port is really closed so "storage is down" is true when stop() returns.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _port_answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the emulator and delete its folder if this object created it."""
        self.stop()
        self._finalizer.detach()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
