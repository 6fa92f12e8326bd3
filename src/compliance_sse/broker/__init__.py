"""Scale-out on Redis: the job queue and its consumers, and the result cache.

The broker builds on the Redis event log (``compliance_sse.eventlog.redis*``), never the reverse.
"""

from .cache import ResultCache
from .queue import JobQueue, QueueConsumer

__all__ = ["JobQueue", "QueueConsumer", "ResultCache"]
