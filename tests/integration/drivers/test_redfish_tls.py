"""TLS verification against a sushy-tools emulator serving HTTPS with a self-signed
certificate, as most BMCs do out of the box: verified by default, off per BMC on request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kanri.domain.model import Bmc
from kanri.domain.states import PowerState
from kanri.drivers.base import BmcUnreachable
from kanri.drivers.redfish import RedfishInventory, RedfishPower
from kanri.drivers.registry import DriverContext
from kanri.lab.sushy_emulator import SushyEmulator
from tests.integration.conftest import EMULATOR_PASSWORD, EMULATOR_USER, TEST_OPTIONS
from tests.peers.sushy import forget_ca_bundles, running_emulator

SELF_SIGNED = r"TLS certificate rejected: self-signed certificate$"


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SushyEmulator]:
    with running_emulator(
        systems=2,
        username=EMULATOR_USER,
        password=EMULATOR_PASSWORD,
        workdir=tmp_path_factory.mktemp("sushy-tls"),
        tls=True,
    ) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_ca_bundles(monkeypatch)


@pytest.fixture
def context() -> Iterator[DriverContext]:
    context = DriverContext(TEST_OPTIONS)
    yield context
    context.close()


def _bmc(emulator: SushyEmulator, verify_tls: bool = True, host: str | None = None) -> Bmc:
    url = emulator.url if host is None else f"https://{host}:{emulator.port}"
    return Bmc(url, EMULATOR_USER, EMULATOR_PASSWORD, verify_tls=verify_tls)


def test_the_emulator_serves_https(tls_emulator: SushyEmulator) -> None:
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    assert tls_emulator.cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert tls_emulator.key_path.stat().st_mode & 0o077 == 0


def test_verification_is_on_by_default(context: DriverContext, tls_emulator: SushyEmulator) -> None:
    bmc = _bmc(tls_emulator)
    assert bmc.verify_tls is True  # the default of Bmc itself, not of this test
    inventory, power = RedfishInventory(context), RedfishPower(context)

    with pytest.raises(BmcUnreachable, match=SELF_SIGNED) as caught:
        inventory.discover(bmc)
    assert (
        str(caught.value)
        == f"{tls_emulator.url}: TLS certificate rejected: self-signed certificate"
    )
    with pytest.raises(BmcUnreachable, match=SELF_SIGNED):
        power.get_power(bmc, tls_emulator.systems[0].uuid)
    assert inventory.sessions.client_of(bmc) is None  # nothing half-open is kept


def test_the_opt_out_is_per_bmc(context: DriverContext, tls_emulator: SushyEmulator) -> None:
    inventory, power = RedfishInventory(context), RedfishPower(context)
    insecure = _bmc(tls_emulator, verify_tls=False)

    found = {s.system_id: s for s in inventory.discover(insecure)}
    assert set(found) == {s.uuid for s in tls_emulator.systems}
    first = tls_emulator.systems[0]
    assert tuple(n.mac for n in found[first.uuid].nics) == first.macs
    assert power.get_power(insecure, first.uuid) is PowerState.OFF

    # The same BMC registered again with verification on, in the same manager: the
    # unverified session is not reused for it.
    with pytest.raises(BmcUnreachable, match=SELF_SIGNED):
        power.get_power(_bmc(tls_emulator), first.uuid)
    assert power.get_power(insecure, first.uuid) is PowerState.OFF


def test_a_trusted_certificate_passes_and_the_host_name_is_still_checked(
    context: DriverContext, tls_emulator: SushyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_emulator.cert_path))
    inventory = RedfishInventory(context)

    found = inventory.discover(_bmc(tls_emulator))
    assert {s.system_id for s in found} == {s.uuid for s in tls_emulator.systems}

    # Trusted, but issued for 127.0.0.1 only: "localhost" is a different name.
    with pytest.raises(
        BmcUnreachable,
        match=r"TLS certificate rejected: Hostname mismatch, certificate is not valid for "
        r"'localhost'\.?$",
    ):
        inventory.discover(_bmc(tls_emulator, host="localhost"))


def test_a_restarted_emulator_keeps_its_certificate(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    emulator = SushyEmulator(
        systems=1, workdir=tmp_path_factory.mktemp("sushy-tls-restart"), tls=True
    )
    with emulator:
        cert = emulator.cert_path.read_bytes()
        emulator.pause()
        emulator.start()
        assert emulator.cert_path.read_bytes() == cert
