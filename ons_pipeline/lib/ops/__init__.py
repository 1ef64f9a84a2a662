"""Operations: health, metrics, alerts, notifications and cost; the query API's request metrics
(:mod:`.apimetrics`) and guards (:mod:`.apiguard`: key fingerprints, rate limit)."""
