"""Where a job's events and status live: in memory, or in Redis for several replicas."""

from .base import EventLog, JobRecord, LogEvent

__all__ = ["EventLog", "JobRecord", "LogEvent"]
