"""Scale-out on Redis: the job queue and its consumers, the result cache, and the error boundary."""

from .errors import RedisUnavailable, map_redis_errors

__all__ = ["RedisUnavailable", "map_redis_errors"]
