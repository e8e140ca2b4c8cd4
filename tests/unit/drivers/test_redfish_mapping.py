"""Redfish documents to domain values, from captured payloads; sushy errors to driver errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import sushy.exceptions as sushy_exc
from urllib3.exceptions import MaxRetryError, NewConnectionError

from kanri.domain.errors import Invalid
from kanri.domain.model import MAX_PORT_NAME, MAX_UUID, MAX_VENDOR_TEXT, FcPort, Nic
from kanri.domain.states import Health, PowerAction, PowerState, SystemKind
from kanri.drivers.base import (
    BmcAuthFailed,
    BmcProtocolError,
    BmcUnreachable,
    DriverOptions,
    SystemNotFound,
)
from kanri.drivers.redfish.errors import nothing_was_sent, timed_out, to_driver_error
from kanri.drivers.redfish.mapping import (
    JsonDoc,
    MalformedAnswer,
    health_of,
    member_paths,
    normalise_address,
    power_state_of,
    system_inventory,
)
from kanri.drivers.redfish.power import choose_reset
from kanri.drivers.redfish.sessions import check_bmc_url

REPO = Path(__file__).resolve().parents[3]
DMTF = REPO.parent / "shared" / "redfish" / "mockups"
OURS = REPO / "tests" / "integration" / "fixtures" / "redfish"
URL = "https://bmc.example"


class Mockup:
    """A DMTF mockup tree read as a BMC would serve it; counts the documents read."""

    def __init__(self, root: Path) -> None:
        assert root.is_dir(), f"mockup folder missing: {root}"
        self.root = root
        self.reads: list[str] = []

    def fetch(self, uri: str) -> JsonDoc | None:
        self.reads.append(uri)
        relative = uri.split("?", maxsplit=1)[0].removeprefix("/redfish/v1").strip("/")
        path = self.root / relative / "index.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def system(self, name: str) -> JsonDoc:
        doc = self.fetch(f"/redfish/v1/Systems/{name}")
        assert doc is not None
        return doc


# --- captured payloads -> SystemInventory -------------------------------------------------


def test_blade_partition_sums_cores_over_its_blades_and_reads_memory_summary() -> None:
    mockup = Mockup(DMTF / "public-bladed-partitions")
    inventory = system_inventory(mockup.system("ComposedPartition2"), mockup.fetch)

    assert inventory.system_id == "ComposedPartition2"
    assert inventory.manufacturer == "Contoso"
    assert inventory.model == "Constoto-2S-B Server Partition"
    assert inventory.uuid == "92384634-2938-2342-8820-489239905423"
    assert inventory.serial is None  # the mockup gives none
    assert inventory.memory_mib == 384 * 1024
    # ProcessorSummary.Count is 6 (sockets); six CPUs on three blades: 18+18, 10+10, 18+18.
    assert inventory.cpu_cores == 92
    # three blade NICs; the one of BladeComputeBlock3 has no MACAddress and identifies nothing
    assert [n.mac for n in inventory.nics] == ["aa:bb:cc:dd:ee:ff"] * 2
    assert inventory.power is PowerState.ON
    assert inventory.health is Health.OK
    assert inventory.fc_ports == ()


def test_rollup_health_wins_and_processor_kinds_are_filtered() -> None:
    mockup = Mockup(OURS / "kanri-fc-rackmount")
    inventory = system_inventory(mockup.system("rack-1"), mockup.fetch)

    assert inventory.health is Health.WARNING  # HealthRollup, not the system's own OK
    assert inventory.cpu_cores == 32  # two CPUs; the GPU's 6912 cores are not CPU cores
    assert inventory.memory_mib == 512  # 0.5 GiB
    assert inventory.serial == "SN-RACK-0001"
    assert inventory.power is PowerState.OFF


def test_nics_prefer_effective_mac_and_skip_missing_or_zero_ones() -> None:
    mockup = Mockup(OURS / "kanri-fc-rackmount")
    inventory = system_inventory(mockup.system("rack-1"), mockup.fetch)

    assert inventory.nics == (
        Nic("NIC1", "52:54:00:ab:cd:01"),
        Nic("NIC2", "52:54:00:ab:cd:02"),  # MACAddress all zeros: the permanent one counts
    )


def test_fc_ports_through_interface_link_and_through_adapter_link() -> None:
    mockup = Mockup(OURS / "kanri-fc-rackmount")
    inventory = system_inventory(mockup.system("rack-1"), mockup.fetch)

    assert inventory.fc_ports == (
        FcPort("HBA1/1", "10:00:00:90:fa:00:00:01"),
        FcPort("HBA1/2", "20:00:00:25:b5:00:00:02"),  # effective (virtual) WWPN wins
        FcPort("HBA2/1", "10:00:00:90:fa:00:01:01"),  # only PermanentWWPN given
    )


def test_missing_subresources_leave_fields_empty_instead_of_failing() -> None:
    mockup = Mockup(OURS / "kanri-fc-rackmount")
    inventory = system_inventory(mockup.system("RenamedUri"), mockup.fetch)

    assert inventory.system_id == "rack-2"
    assert inventory.cpu_cores == 24  # CoreCount given: Processors (404 here) not read
    assert "/redfish/v1/Systems/RenamedUri/Processors" not in mockup.reads
    assert inventory.memory_mib is None  # no summary and Memory answers 404
    assert inventory.nics == ()
    assert inventory.health is Health.CRITICAL


def test_sushy_tools_system_payload() -> None:
    # What sushy-tools 2.2 (fake driver) serves: no CPU or memory sizes, Processors not
    # linked, Memory 404, and "HealthRollUp" with a capital U.
    system = {
        "Id": "27946b59-9e44-4fa7-8e91-f3527a1ef094",
        "UUID": "27946b59-9e44-4fa7-8e91-f3527a1ef094",
        "Manufacturer": "Sushy Emulator",
        "PowerState": "PoweringOn",
        "Status": {"State": "Enabled", "Health": "OK", "HealthRollUp": "Critical"},
        "ProcessorSummary": {"Status": {"Health": "OK"}},
        "MemorySummary": {"Status": {"Health": "OK"}},
        "Memory": {"@odata.id": "/redfish/v1/Systems/x/Memory"},
    }
    inventory = system_inventory(system, lambda uri: None)
    assert (inventory.cpu_cores, inventory.memory_mib) == (None, None)
    assert inventory.power is PowerState.POWERING_ON
    assert inventory.health is Health.CRITICAL


def test_system_without_id_is_malformed() -> None:
    with pytest.raises(MalformedAnswer, match="no Id"):
        system_inventory({"@odata.id": "/redfish/v1/Systems/1"}, lambda uri: None)


def test_overlong_text_is_cut_to_what_the_store_keeps() -> None:
    """A BMC's 300-character Model must not fail the write (String(255) on PostgreSQL)."""
    nic_id = "eth" * 100
    docs: dict[str, JsonDoc] = {
        "/nics": {"Members": [{"@odata.id": "/nics/1"}]},
        "/nics/1": {"Id": nic_id, "MACAddress": "52:54:00:00:00:01"},
    }
    system = {
        "Id": "s1",
        "Manufacturer": "Contoso\x00 Ltd",  # PostgreSQL cannot store NUL characters
        "Model": "M" * 300,
        "SerialNumber": "  " + "S" * 254 + " tail",
        "UUID": "u" * 100,
        "EthernetInterfaces": {"@odata.id": "/nics"},
    }
    inventory = system_inventory(system, docs.get)

    assert inventory.manufacturer == "Contoso Ltd"
    assert inventory.model == "M" * MAX_VENDOR_TEXT
    assert inventory.serial == "S" * 254  # cut to 255, then the trailing blank trimmed
    assert inventory.uuid == "u" * MAX_UUID
    assert inventory.nics == (Nic(nic_id[:MAX_PORT_NAME], "52:54:00:00:00:01"),)


def test_overlong_system_id_is_malformed_not_cut() -> None:
    """The Id is how the system is found again: a cut one would never match."""
    with pytest.raises(MalformedAnswer, match="Id longer than 255 characters"):
        system_inventory({"Id": "x" * 256}, lambda uri: None)
    assert system_inventory({"Id": "x" * 255}, lambda uri: None).system_id == "x" * 255


def test_collection_pages_are_followed_and_missing_members_list_is_malformed() -> None:
    pages = {"/next": {"Members": [{"@odata.id": "/b"}]}}
    first = {"Members": [{"@odata.id": "/a"}], "Members@odata.nextLink": "/next"}
    assert member_paths(first, pages.get) == ["/a", "/b"]
    with pytest.raises(MalformedAnswer):
        member_paths({"Name": "not a collection"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("On", PowerState.ON),
        ("Off", PowerState.OFF),
        ("PoweringOff", PowerState.POWERING_OFF),
        ("Paused", PowerState.ON),
        ("Sleeping", PowerState.UNKNOWN),
        (None, PowerState.UNKNOWN),
    ],
)
def test_power_state_mapping(value: Any, expected: PowerState) -> None:
    assert power_state_of({"PowerState": value}) is expected


def test_health_mapping() -> None:
    assert health_of({"Status": {"Health": "Warning"}}) is Health.WARNING
    assert health_of({"Status": {"Health": "OK", "HealthRollup": "Critical"}}) is Health.CRITICAL
    assert health_of({"Status": {}}) is Health.UNKNOWN
    assert health_of({}) is Health.UNKNOWN


def test_addresses_are_normalised() -> None:
    assert normalise_address("AA-BB-CC-00-11-22") == "aa:bb:cc:00:11:22"
    assert normalise_address("aabbcc001122") == "aa:bb:cc:00:11:22"
    assert normalise_address("00:00:00:00:00:00") is None
    assert normalise_address("not-a-mac") is None
    assert normalise_address(None) is None


# --- power action choice -------------------------------------------------------------------


def test_reset_falls_back_to_power_cycle_but_graceful_never_degrades() -> None:
    import sushy

    allowed = {sushy.ResetType.ON, sushy.ResetType.FORCE_OFF, sushy.ResetType.POWER_CYCLE}
    assert choose_reset(PowerAction.RESET, allowed, URL) is sushy.ResetType.POWER_CYCLE
    assert choose_reset(PowerAction.ON, {sushy.ResetType.FORCE_ON}, URL) is sushy.ResetType.FORCE_ON
    with pytest.raises(BmcProtocolError, match="cannot restart: the BMC allows only") as caught:
        choose_reset(PowerAction.RESTART, allowed, URL)
    assert "ForceOff, On, PowerCycle" in str(caught.value)
    with pytest.raises(BmcProtocolError):
        choose_reset(PowerAction.OFF, allowed, URL)


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "bmc.example",
        "ftp://bmc.example",
        "https://",
        "http://:443",
        "https://a:b@bmc",
        "http://h:99999",
    ],
)
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(Invalid, match="invalid BMC URL"):
        check_bmc_url(url)


def test_url_is_reduced_to_scheme_and_authority() -> None:
    assert check_bmc_url("https://bmc.example:8443/redfish/v1/") == "https://bmc.example:8443"
    assert check_bmc_url("http://[::1]:8000") == "http://[::1]:8000"


# --- errors -----------------------------------------------------------------------------------


class _Response:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


def _http_error(status: int, body: Any = None) -> sushy_exc.HTTPError:
    try:
        sushy_exc.raise_for_response("GET", f"{URL}/redfish/v1/Systems/1", _Response(status, body))
    except sushy_exc.HTTPError as exc:
        return exc
    raise AssertionError("no error raised")


def _connection_error(cause: Exception) -> sushy_exc.ConnectionError:
    # as sushy's connector raises it: inside the except block of the requests error
    try:
        try:
            raise cause
        except Exception as inner:
            raise sushy_exc.ConnectionError(url=URL, error=inner) from None
    except sushy_exc.ConnectionError as exc:
        exc.__context__ = cause
        return exc


OPTIONS = DriverOptions(connect_timeout=5, read_timeout=30)


def _refused() -> requests.ConnectionError:
    text = "Failed to establish a new connection: [Errno 111] Connection refused"
    reason = NewConnectionError(None, text)  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/redfish/v1/", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (_http_error(401), BmcAuthFailed, "credentials rejected (HTTP 401)"),
        (_http_error(403), BmcAuthFailed, "access denied (HTTP 403)"),
        (
            _http_error(
                500,
                {
                    "error": {
                        "code": "Base.1.0.GeneralError",
                        "message": "boom",
                        "@Message.ExtendedInfo": [
                            {"Message": "fan\n  controller   failed", "Severity": "Critical"}
                        ],
                    }
                },
            ),
            BmcProtocolError,
            "HTTP 500: fan controller failed",
        ),
        (_http_error(502), BmcProtocolError, "HTTP 502: Bad Gateway"),
        (_http_error(404), BmcProtocolError, "HTTP 404: Not Found"),
        (_connection_error(_refused()), BmcUnreachable, "connection refused"),
        (
            _connection_error(requests.ConnectTimeout("x" * 500)),
            BmcUnreachable,
            "could not connect in 2 attempts of 5s",  # retries=2: sushy tries twice
        ),
        (
            _connection_error(requests.ReadTimeout("read timed out")),
            BmcUnreachable,
            "no answer in 2 attempts of 30s",
        ),
        (
            _connection_error(requests.exceptions.SSLError("bad handshake")),
            BmcUnreachable,
            "TLS handshake failed",
        ),
        (
            requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0),
            BmcProtocolError,
            "answer is not valid JSON",
        ),
        (
            MalformedAnswer("system /x has no Id"),
            BmcProtocolError,
            "malformed answer: system /x has no Id",
        ),
        (
            sushy_exc.MissingActionError(action="#ComputerSystem.Reset", resource="/x"),
            BmcProtocolError,
            "the system offers no ComputerSystem.Reset action",
        ),
    ],
)
def test_error_mapping_gives_one_short_line(
    exc: Exception, kind: type[Exception], message: str
) -> None:
    error = to_driver_error(exc, URL, OPTIONS)
    assert type(error) is kind
    assert str(error) == f"{URL}: {message}"
    assert "\n" not in str(error)
    assert len(str(error)) < 200


def test_timeouts_with_a_single_attempt_say_how_long() -> None:
    once = DriverOptions(connect_timeout=5, read_timeout=30, retries=1)
    read = to_driver_error(_connection_error(requests.ReadTimeout("slow")), URL, once)
    connect = to_driver_error(_connection_error(requests.ConnectTimeout("slow")), URL, once)
    assert str(read) == f"{URL}: timed out after 30s waiting for an answer"
    assert str(connect) == f"{URL}: timed out after 5s connecting"


def test_timeouts_are_told_apart_from_lost_connections() -> None:
    assert timed_out(_connection_error(requests.ReadTimeout("slow")))
    assert timed_out(_connection_error(requests.ConnectTimeout("slow")))
    assert not timed_out(_connection_error(_refused()))
    assert not timed_out(_connection_error(requests.ConnectionError("reset by peer")))


def test_driver_errors_pass_through_unchanged() -> None:
    original = SystemNotFound(URL, "no system '7'")
    assert to_driver_error(original, URL, OPTIONS) is original


def test_long_detail_is_cut() -> None:
    error = to_driver_error(_http_error(500, {"error": {"message": "x" * 5000}}), URL, OPTIONS)
    assert len(str(error)) < 200


def test_only_unsent_requests_count_as_safe_to_repeat() -> None:
    assert nothing_was_sent(_connection_error(_refused()))
    assert nothing_was_sent(_connection_error(requests.ConnectTimeout("slow")))
    assert not nothing_was_sent(_connection_error(requests.ReadTimeout("slow")))


def test_system_kind_and_a_partitions_host_through_its_chassis() -> None:
    docs: dict[str, JsonDoc] = {
        "/redfish/v1/Chassis/blade-5": {
            "@odata.id": "/redfish/v1/Chassis/blade-5",
            "Links": {
                "ComputerSystems": [
                    {"@odata.id": "/redfish/v1/Systems/blade-5"},
                    {"@odata.id": "/redfish/v1/Systems/app-1"},
                ]
            },
        }
    }
    partition = {
        "@odata.id": "/redfish/v1/Systems/app-1",
        "Id": "app-1",
        "SystemType": "VirtuallyPartitioned",
        "Links": {"Chassis": [{"@odata.id": "/redfish/v1/Chassis/blade-5"}]},
    }
    inventory = system_inventory(partition, docs.get)
    assert inventory.kind is SystemKind.PARTITION
    assert inventory.host_system_id == "blade-5"
    machine = {**partition, "Id": "blade-5", "SystemType": "Physical"}
    assert system_inventory(machine, docs.get).kind is SystemKind.MACHINE
    assert system_inventory(machine, docs.get).host_system_id is None


def test_a_composed_system_spanning_blades_is_not_a_partition_of_one_host() -> None:
    mockup = Mockup(DMTF / "public-bladed-partitions")
    inventory = system_inventory(mockup.system("ComposedPartition2"), mockup.fetch)
    assert inventory.kind is SystemKind.MACHINE
    assert inventory.host_system_id is None
