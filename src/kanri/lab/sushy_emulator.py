"""Start and stop a sushy-tools Redfish emulator (fake driver) on loopback.

    with SushyEmulator(systems=3, username="admin", password="secret") as emu:
        bmc = Bmc(emu.url, emu.username, emu.password)
        ...  # emu.systems lists the uuids, names and MACs it serves

Each instance gets its own directory with the config, the state directory (sushy-tools'
default state dir is shared by every instance and survives restarts, so a fresh one per
instance keeps power states from leaking between runs), the auth file and the log.
Cheap enough to run twenty at once: one process, ~0.3 s to first answer.

``tls=True`` serves HTTPS with a self-signed certificate of its own for the listen address
(``cert_path``: give it to a client as its trusted bundle, or leave it out to see a
verification failure, as against a BMC with its factory certificate).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid as uuid_lib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class EmulatedSystem:
    """One machine the emulator serves. Its Redfish ``Id`` is the UUID."""

    uuid: str
    name: str
    macs: tuple[str, ...]
    power_state: str = "Off"

    def config(self, index: int) -> dict[str, object]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "power_state": self.power_state,
            "nics": [
                {"mac": mac, "ip": f"10.{(index >> 8) & 255}.{index & 255}.{n + 1}"}
                for n, mac in enumerate(self.macs)
            ],
        }


def make_systems(count: int, prefix: str = "node", nics: int = 1) -> list[EmulatedSystem]:
    """``count`` systems with random UUIDs and locally administered MACs derived from them,
    so many emulators side by side never serve the same identity twice."""
    systems = []
    for index in range(1, count + 1):
        ident = uuid_lib.uuid4()
        tail = ident.bytes[-4:]
        macs = tuple(
            ":".join(f"{b:02x}" for b in (0x02, tail[0], tail[1], tail[2], tail[3], n))
            for n in range(nics)
        )
        systems.append(EmulatedSystem(str(ident), f"{prefix}-{index}", macs))
    return systems


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def write_self_signed(host: str, cert_path: Path, key_path: Path, days: int = 7) -> None:
    """A self-signed certificate for ``host`` (an IP SAN for an address, else a DNS SAN),
    marked as a CA so that it can stand as its own trust anchor; the key is owner-only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kanri lab BMC {host}")])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class EmulatorError(RuntimeError):
    """The emulator did not start; the message ends with the tail of its log."""


class SushyEmulator:
    """A sushy-tools emulator process serving fake systems on ``host:port``."""

    def __init__(
        self,
        systems: int | Sequence[EmulatedSystem] = 1,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        workdir: Path | None = None,
        start_timeout: float = 20.0,
        tls: bool = False,
    ) -> None:
        self.systems: list[EmulatedSystem] = (
            make_systems(systems) if isinstance(systems, int) else list(systems)
        )
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.username = username
        self.password = password
        self.host = host
        self._auto_port = port is None
        self.port = port or free_port(host)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kanri-sushy-"))
        self.start_timeout = start_timeout
        self.tls = tls
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def cert_path(self) -> Path:
        """The self-signed certificate served with ``tls=True`` (PEM); it is its own CA,
        so a client trusts the emulator by using this file as its CA bundle."""
        return self.workdir / "tls-cert.pem"

    @property
    def key_path(self) -> Path:
        return self.workdir / "tls-key.pem"

    @property
    def config_path(self) -> Path:
        return self.workdir / "emulator.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "emulator.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_files(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        state_dir = self.workdir / "state"
        shutil.rmtree(state_dir, ignore_errors=True)  # a restart starts from the config again
        state_dir.mkdir()
        settings: dict[str, object] = {
            "SUSHY_EMULATOR_LISTEN_IP": self.host,
            "SUSHY_EMULATOR_LISTEN_PORT": self.port,
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_STATE_DIR": str(state_dir),
            "SUSHY_EMULATOR_FAKE_SYSTEMS": [s.config(i) for i, s in enumerate(self.systems, 1)],
        }
        if self.username is not None and self.password is not None:
            import bcrypt  # a dependency of sushy-tools, which this module starts anyway

            # 4 rounds, not bcrypt's default 12: the emulator checks the hash on every
            # request, and 12 rounds cost ~0.25 s each.
            digest = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4))
            auth_file = self.workdir / "htpasswd"
            auth_file.write_text(f"{self.username}:{digest.decode()}\n")
            settings["SUSHY_EMULATOR_AUTH_FILE"] = str(auth_file)
        if self.tls:
            if not self.cert_path.is_file() or not self.key_path.is_file():
                # Made once per workdir: a restart (pause, start) serves the same
                # certificate, as a BMC does, so a client that trusts it still does.
                write_self_signed(self.host, self.cert_path, self.key_path)
            settings["SUSHY_EMULATOR_SSL_CERT"] = str(self.cert_path)
            settings["SUSHY_EMULATOR_SSL_KEY"] = str(self.key_path)
        # The config is a Python file; repr() writes every value as a valid literal.
        self.config_path.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))

    def start(self) -> SushyEmulator:
        """Start the process and return once it answers ``GET /redfish/v1/``."""
        if self.running:
            return self
        for attempt in range(3):
            try:
                self._start_once()
                return self
            except EmulatorError:
                # Another process may have taken the free port between our probe and the
                # emulator's bind: pick another, unless the caller chose the port.
                if not self._auto_port or attempt == 2:
                    raise
                self.port = free_port(self.host)
        return self

    def _start_once(self) -> None:
        self._write_files()
        self._log = self.log_path.open("ab")  # a file, not a PIPE: nobody has to drain it
        self._process = subprocess.Popen(
            [sys.executable, "-m", "sushy_tools.emulator.main", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a Ctrl-C meant for the test runner is not for it
        )
        try:
            self._wait_until_answering()
        except BaseException:
            self._terminate()
            raise

    def _wait_until_answering(self) -> None:
        # The readiness probe only asks "is it up?", so it does not verify the certificate
        # (self-signed, and tests want it untrusted by default). Only this probe skips
        # verification: clients of the emulator decide for themselves.
        probe_context: ssl.SSLContext | None = None
        if self.tls:
            probe_context = ssl.create_default_context()
            probe_context.check_hostname = False
            probe_context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise EmulatorError(f"sushy-emulator exited at start: {self._log_tail()}")
            try:
                with urllib.request.urlopen(  # noqa: S310
                    f"{self.url}/redfish/v1/", timeout=1, context=probe_context
                ) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise EmulatorError(
            f"sushy-emulator did not answer on {self.url} within {self.start_timeout:g}s: "
            + self._log_tail()
        )

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the process. A directory this instance made is removed with it."""
        self._terminate()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pause(self) -> None:
        """Stop answering but keep the directory and port, to simulate a BMC going away;
        :meth:`start` brings it back with the configured (not the last) power states."""
        self._terminate()

    def __enter__(self) -> SushyEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
