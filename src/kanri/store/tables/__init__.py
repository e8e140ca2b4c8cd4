"""The configuration database, one module per area. Change a table only together with a
migration (src/kanri/store/migrations)."""

from kanri.store.tables.base import Base, UtcDateTime, utcnow
from kanri.store.tables.faults import (
    DeliveryRow,
    MaintenanceRow,
    MonitorStateRow,
    RuleRow,
    SubscriptionRow,
)
from kanri.store.tables.jobs import (
    CalendarRow,
    GroupMemberRow,
    GroupRow,
    JobRow,
    JobStepRow,
    ScheduleLockRow,
    ScheduleRow,
    ScheduleRunRow,
    TargetLockRow,
)
from kanri.store.tables.machines import (
    ApiTokenRow,
    BmcRow,
    EventRow,
    MachineRow,
    StorageSystemRow,
)
from kanri.store.tables.partitions import (
    LayoutRow,
    LayoutVersionRow,
    PartitionRow,
    RunStateSnapshotRow,
    ServerRow,
)

__all__ = [
    "ApiTokenRow",
    "Base",
    "BmcRow",
    "CalendarRow",
    "DeliveryRow",
    "EventRow",
    "GroupMemberRow",
    "GroupRow",
    "JobRow",
    "JobStepRow",
    "LayoutRow",
    "LayoutVersionRow",
    "MachineRow",
    "MaintenanceRow",
    "MonitorStateRow",
    "PartitionRow",
    "RuleRow",
    "RunStateSnapshotRow",
    "ScheduleLockRow",
    "ScheduleRow",
    "ScheduleRunRow",
    "ServerRow",
    "StorageSystemRow",
    "SubscriptionRow",
    "TargetLockRow",
    "UtcDateTime",
    "utcnow",
]
