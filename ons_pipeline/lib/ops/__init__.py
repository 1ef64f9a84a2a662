"""Operations: health, metrics, alerts, notifications and cost."""
